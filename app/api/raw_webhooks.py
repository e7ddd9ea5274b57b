"""CJ's webhooks served without FastAPI's routing and request handling: `POST /webhooks/cj`
and `POST /webhooks/cj/<token>` are answered here (by app.api.fast_paths, the innermost of
our middleware) through the same `path_token_valid` and `store` as the declared routes
(app.api.webhooks); an `AppError` is answered by `error_response`, as FastAPI's handler
(app.api.errors) does. Our middleware has read the body and answered its failures.

The scope gets the declared route and its path parameters, as FastAPI's router puts them,
so the metrics and the access line name the route template as before.
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from app.api.problems import error_response
from app.api.webhooks import (
    ACK_BODY,
    ACK_HEADERS,
    cj_webhook,
    cj_webhook_with_token,
    path_token_valid,
    router,
    store,
)
from app.container import Container
from app.core.errors import AppError

PATH = "/webhooks/cj"
TOKEN_PREFIX = PATH + "/"
_SIGN = b"sign"


def _declared(endpoint: object) -> APIRoute:
    """The route as FastAPI puts it in the scope: as declared on the router."""
    return next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is endpoint)


ROUTE = _declared(cj_webhook)
TOKEN_ROUTE = _declared(cj_webhook_with_token)


async def serve(scope: Scope, receive: Receive, send: Send, *, token: str | None) -> None:
    """One webhook, on `/webhooks/cj` (`token` None) or `/webhooks/cj/<token>`."""
    if token is None:
        scope["route"], scope["path_params"] = ROUTE, {}
    else:
        scope["route"], scope["path_params"] = TOKEN_ROUTE, {"token": token}
    container: Container = scope["app"].state.container
    try:
        valid = path_token_valid(container, token, scope["path"])
        await store(container, await _body(receive), _sign(scope), path_token_valid=valid)
    except AppError as exc:
        await error_response(exc, scope)(scope, receive, send)
        return
    await send({"type": "http.response.start", "status": 200, "headers": list(ACK_HEADERS)})
    await send({"type": "http.response.body", "body": ACK_BODY})


async def _body(receive: Receive) -> bytes:
    """The body, as Starlette's `Request.body()` reads it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def _sign(scope: Scope) -> str | None:
    """The first `sign` header, as Starlette's `Headers.get("sign")` reads it."""
    for name, value in scope["headers"]:
        if name == _SIGN:
            sign: str = value.decode("latin-1")
            return sign
    return None
