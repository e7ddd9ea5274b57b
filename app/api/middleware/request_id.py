"""The request id: taken from a valid `X-Request-Id` or made, and then everywhere.

It is in every log line of the request (with the method and path, through
`app.core.logging.bind_request`: nothing is bound in structlog unless a line is logged),
kept in `scope["state"]` for the problem documents (read it with `request_id_of`, the one
way), and sent back on every response.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid

from starlette.types import Message, Receive, Scope, Send

from app.api.middleware.base import HTTPMiddleware
from app.core.logging import bind_request, unbind_request

REQUEST_ID_HEADER = "x-request-id"
_HEADER_BYTES = REQUEST_ID_HEADER.encode()
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


_SECRET_PATH_PREFIX = "/webhooks/cj/"


def loggable_path(path: str) -> str:
    """The path as log lines show it. What follows `/webhooks/cj/` (after a root path,
    if one is set) is the secret path token (CJ_WEBHOOK_PATH_TOKEN, or a guess at it): it
    is never written."""
    before, prefix, _token = path.partition(_SECRET_PATH_PREFIX)
    return f"{before}{prefix}{{token}}" if prefix else path


class _Ids:
    """Made ids: 32 hex digits, a random half per process and a counter (unique without
    asking the OS for randomness per request, as uuid4 does)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


_IDS = _Ids()
os.register_at_fork(after_in_child=_IDS.reset)


def request_id_of(scope: Scope) -> str | None:
    """The id `RequestIdMiddleware` gave this request (None for one it did not see)."""
    value = scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def _incoming(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER_BYTES:
            incoming = value.decode("latin-1")
            return incoming if _VALID_REQUEST_ID.match(incoming) else None
    return None


class RequestIdMiddleware(HTTPMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _incoming(scope) or _IDS.next()
        scope.setdefault("state", {})["request_id"] = request_id
        header = (_HEADER_BYTES, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        token = bind_request(request_id, scope["method"], loggable_path(scope["path"]))
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            unbind_request(token)
