"""The two hot paths served without FastAPI's routing and request handling: CJ's webhooks
(`POST /webhooks/cj[/<token>]`, app.api.raw_webhooks) and checkout's plain rate request
(`POST /v1/rates`, app.api.raw_rates). Every other request, and a rate request that is
not the plain case (its body replayed), goes on to FastAPI unchanged.

`FastPaths` is a pure-ASGI middleware, installed as the innermost of ours (app.main): a
request has passed all of FastAPI's outer layers and our whole chain (request id, metrics,
last resort, body limits) before it gets here, and what it calls next is FastAPI's own
ExceptionMiddleware and router. So any layer FastAPI or we add is on these paths too, and
an answer our middleware gives (a 413, a 408) is labelled as FastAPI labels it: the route
is put in the scope here, as the router would put it, and only for requests served here.

Why: with bench/webhooks.py at 300 messages/s, py-spy on a web worker showed APIRoute's
request handling (dependency solving, body reading, validation, the response's
serialization) and the router's matching costing more than the route and the inbox
insert together; for a rate request, about a fifth of its time.

The routes stay declared on FastAPI (app.api.webhooks, app.api.v1.rates), for the OpenAPI
document and as the reference tests/api/test_raw_*.py compare these answers with.
"""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import raw_rates, raw_webhooks


class FastPaths:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            # The path the router matches: without the root path, when one is set, by the
            # router's own function (private, so a Starlette that drops it fails at import).
            path: str = get_route_path(scope) if scope.get("root_path") else scope["path"]
            if path == raw_rates.PATH:
                await raw_rates.serve(scope, receive, send, self.app)
                return
            if path == raw_webhooks.PATH:
                await raw_webhooks.serve(scope, receive, send, token=None)
                return
            if path.startswith(raw_webhooks.TOKEN_PREFIX):
                token = path[len(raw_webhooks.TOKEN_PREFIX) :]
                if token and "/" not in token:
                    await raw_webhooks.serve(scope, receive, send, token=token)
                    return
        await self.app(scope, receive, send)
