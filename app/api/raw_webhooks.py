"""CJ's webhooks served without FastAPI's layers: `POST /webhooks/cj` and
`POST /webhooks/cj/<token>` go from uvicorn through our own middleware straight to the
intake; `POST /v1/rates` likewise when it is the plain case (app.api.raw_rates);
everything else (lifespan included) is FastAPI's, unchanged.

Why: with bench/webhooks.py at 300 messages/s, py-spy on a web worker showed a stored
message costing the web process ~2,000 µs of CPU, and the layers between uvicorn and the
route (ServerErrorMiddleware, FastAPI's telemetry and body-limit middleware,
ExceptionMiddleware, AsyncExitStackMiddleware, the router's matching, APIRoute's request
handling, and each one's send wrapper) costing more than the route and the inbox insert
together. None of them does anything for these routes: our middleware reads the body and
answers the failures, and an `AppError` is answered by `error_response`, as FastAPI's
handler (app.api.errors) does.

The routes stay declared on FastAPI (app.api.webhooks), for the OpenAPI document and as
the reference tests/api/test_raw_webhooks.py compares these answers with; both call the
same `path_token_valid` and `store`. The scope gets the declared route and its path
parameters, so the metrics and the access line name the route template as before.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import raw_rates
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
_TOKEN_PREFIX = PATH + "/"
_SIGN = b"sign"


class ServiceApp(FastAPI):
    """FastAPI, with CJ's webhooks and checkout's rates (app.api.raw_rates) taken before
    its own layers."""

    _webhooks: ASGIApp | None = None
    _rates: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path: str = scope["path"]
            if path == raw_rates.PATH:
                await self._serve_rates(scope, receive, send)
                return
            if path == PATH:
                await self._serve_webhook(scope, receive, send, 0, {})
                return
            if path.startswith(_TOKEN_PREFIX):
                token = path[len(_TOKEN_PREFIX) :]
                if token and "/" not in token:
                    await self._serve_webhook(scope, receive, send, 1, {"token": token})
                    return
        await super().__call__(scope, receive, send)

    async def _serve_webhook(
        self, scope: Scope, receive: Receive, send: Send, route: int, params: dict[str, Any]
    ) -> None:
        if self._webhooks is None:
            self._webhooks = self._in_our_middleware(_receive_webhook)
        scope["app"] = self
        scope["route"] = _ROUTES[route]
        scope["path_params"] = params
        await self._webhooks(scope, receive, send)

    async def _serve_rates(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._rates is None:
            inside = raw_rates.fastapi_inside(self)
            self._rates = self._in_our_middleware(raw_rates.rates_handler(inside))
        scope["app"] = self
        scope["route"] = raw_rates.ROUTE
        scope["path_params"] = {}
        await self._rates(scope, receive, send)

    def _in_our_middleware(self, handler: ASGIApp) -> ASGIApp:
        """Built on first use, as Starlette builds its stack: from the same middleware list,
        so these requests pass the very chain (and config) FastAPI's do."""
        for cls, args, kwargs in reversed(self.user_middleware):
            handler = cls(handler, *args, **kwargs)
        return handler


def _declared_routes() -> tuple[APIRoute, APIRoute]:
    """The routes as FastAPI puts them in the scope: as declared on the router."""
    routes = {route.endpoint: route for route in router.routes if isinstance(route, APIRoute)}
    return routes[cj_webhook], routes[cj_webhook_with_token]


_ROUTES = _declared_routes()


async def _receive_webhook(scope: Scope, receive: Receive, send: Send) -> None:
    container: Container = scope["app"].state.container
    try:
        valid = path_token_valid(container, scope["path_params"].get("token"), scope["path"])
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
