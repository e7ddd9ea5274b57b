"""The body's limits, in size and in time: over `MAX_BODY_BYTES` it is refused with 413,
not arrived within `body_timeout_seconds` it is answered 408, before any route reads it.

The whole body is read here (at most the limit) and handed to the route as it came:
reading it here is what lets a slow client be answered 408, since once FastAPI reads the
body, any failure to receive it becomes its own 400. A declared `Content-Length` over
the limit is refused without reading.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.middleware.base import HTTPMiddleware
from app.api.problems import error_response
from app.core.errors import PayloadTooLarge, RequestTimeout

log = structlog.get_logger("app.access")

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class _Body:
    outcome: Literal["ok", "too_large", "timed_out"]
    receive: Receive


def _replay_then(first: Message, receive: Receive) -> Receive:
    """A `receive` that gives `first` once, then whatever the server sends next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return first
        return await receive()

    return replay


class BodyLimitMiddleware(HTTPMiddleware):
    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout_seconds: float) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        body = await self._read_body(scope, receive)
        if body.outcome == "too_large":
            too_large = PayloadTooLarge(
                f"The body is larger than the limit of {self.max_body_bytes} bytes."
            )
            await error_response(too_large, scope)(scope, receive, send)
        elif body.outcome == "timed_out":
            log.info("request_body_timeout", seconds=self.body_timeout_seconds)
            timed_out = RequestTimeout(
                f"The body did not arrive within {self.body_timeout_seconds:g} seconds.",
                headers={"Connection": "close"},
            )
            await error_response(timed_out, scope)(scope, receive, send)
        else:
            await self.app(scope, body.receive, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> _Body:
        """Read the whole body (at most the limit) within `body_timeout_seconds`."""
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return _Body("too_large", receive)
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout_seconds):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return _Body("ok", _replay_then(message, receive))
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        return _Body("too_large", receive)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            return _Body("timed_out", receive)
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return _Body("ok", _replay_then(whole, receive))
