"""The request id: taken from a valid `X-Request-Id` or made, and then everywhere.

It is bound to structlog's context (with the method and path) for every log line of the
request, kept in `scope["state"]` for the problem documents (read it with
`request_id_of`, the one way), and sent back on every response.
"""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from app.api.middleware.base import HTTPMiddleware

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(scope: Scope) -> str | None:
    """The id `RequestIdMiddleware` gave this request (None for one it did not see)."""
    value = scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


class RequestIdMiddleware(HTTPMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        structlog.contextvars.bind_contextvars(
            request_id=request_id, method=scope["method"], path=scope["path"]
        )
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "method", "path")
