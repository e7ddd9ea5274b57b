"""`POST /v1/rates` served without FastAPI's routing and request handling (by
app.api.fast_paths, the innermost of our middleware) when the request is the plain case:
the right API key, a JSON body that is a valid `RateRequest`. Anything else (no key, a
wrong one, another content type, a body that is not JSON or not valid) goes on to
FastAPI's exception handling and router, its body replayed, so every such answer is
FastAPI's, by construction, and only the priced answer and the service's errors are
written here, as the route writes them (app.api.v1.rates).

What is re-implemented here is the route's dependencies (the v1 router's API key) and its
body (JSON, a `RateRequest`); tests/api/test_raw_rates.py pins the route's dependencies
to those, so one added to the route fails there until it is taught here.
"""

from __future__ import annotations

import json

from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import error_response
from app.api.v1.rates import quote_rates, router
from app.container import Container
from app.core.errors import AppError
from app.core.security import api_key_matches
from app.schemas.rates import RateRequest, rate_list_json

PATH = "/v1/rates"
_AUTHORIZATION = b"authorization"
_CONTENT_TYPE = b"content-type"
_JSON = b"application/json"

ROUTE = next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is quote_rates)


async def serve(scope: Scope, receive: Receive, send: Send, fastapi: ASGIApp) -> None:
    """One rate request: priced here when plain, else handed to `fastapi` (FastAPI's own
    exception handling and router) with the body's messages replayed."""
    container: Container = scope["app"].state.container
    consumed, raw = await _body(receive)
    request = None if raw is None else _plain_request(scope, raw, container)
    if request is None:
        await fastapi(scope, _replay(consumed, receive), send)
        return
    scope["route"], scope["path_params"] = ROUTE, {}
    try:
        rates = await container.rates.quote(request.query())
    except AppError as exc:
        await error_response(exc, scope)(scope, receive, send)
        return
    await Response(rate_list_json(rates), media_type="application/json")(scope, receive, send)


def _plain_request(scope: Scope, raw: bytes, container: Container) -> RateRequest | None:
    """The request, when FastAPI would hand the route this body without an error."""
    authorization = content_type = None
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION and authorization is None:
            authorization = value.decode("latin-1")
        elif name == _CONTENT_TYPE and content_type is None:
            content_type = value
    if content_type != _JSON or not raw:
        return None
    scheme, credentials = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not credentials:
        return None
    if not api_key_matches(credentials, container.settings.service_api_keys):
        return None
    try:
        return RateRequest.model_validate(json.loads(raw))
    except (ValueError, ValidationError, RecursionError):
        return None


async def _body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The messages read, and the body (None when something else came, a disconnect:
    FastAPI is handed the same messages and answers as it would)."""
    consumed: list[Message] = []
    while True:
        message = await receive()
        consumed.append(message)
        if message["type"] != "http.request":
            return consumed, None
        if not message.get("more_body", False):
            return consumed, b"".join(m.get("body", b"") for m in consumed)


def _replay(consumed: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives the `consumed` messages again, then the server's next."""
    pending = list(consumed)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
