"""Pure-ASGI middleware: request id, body-size limit and read timeout (413, 408), metrics,
access log, last-resort 500.

It is the outermost layer, so even an exception no handler knew about leaves as a
problem+json 500 that carries the request id (and is logged with it), never a trace.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PROBLEM_TYPE_BASE
from app.core.metrics import HTTP_LATENCY, HTTP_REQUESTS

# The pool waited too long for a connection, or the database refused or dropped one
# (asyncpg's connect errors arrive unwrapped, as the built-in ConnectionError family).
DATABASE_UNAVAILABLE = (PoolTimeoutError, OperationalError, InterfaceError, ConnectionError)

log = structlog.get_logger("app.access")

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _problem_bytes(
    status: int, title: str, detail: str, slug: str, instance: str, request_id: str
) -> bytes:
    return json.dumps(
        {
            "type": PROBLEM_TYPE_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
            "request_id": request_id,
        }
    ).encode()


def route_template(scope: Scope) -> str:
    """The matched route's template with its router prefixes (`/v1/fulfillments/{id}`).

    FastAPI puts the route as declared, without the prefixes of the routers that include
    it, in the scope; the prefix is what the request path has before the rendered route.
    """
    path_format = getattr(scope.get("route"), "path_format", None)
    if not isinstance(path_format, str):
        return "unmatched"
    params = {name: str(value) for name, value in scope.get("path_params", {}).items()}
    try:
        rendered = path_format.format(**params)
    except (KeyError, IndexError, ValueError):
        return path_format
    path: str = scope.get("path", "")
    if rendered and path.endswith(rendered):
        return path[: len(path) - len(rendered)] + path_format
    return path_format


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


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        method: str = scope["method"]
        structlog.contextvars.bind_contextvars(
            request_id=request_id, method=method, path=scope["path"]
        )
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            body = await self._read_body(scope, receive, method)
            if body.outcome == "too_large":
                await self._send_problem(
                    send_wrapper,
                    413,
                    "Payload Too Large",
                    f"The body is larger than the limit of {self.max_body_bytes} bytes.",
                    "payload-too-large",
                    scope.get("path", ""),
                    request_id,
                )
            elif body.outcome == "timed_out":
                log.info("request_body_timeout", seconds=self.body_timeout_seconds)
                await self._send_problem(
                    send_wrapper,
                    408,
                    "Request Timeout",
                    f"The body did not arrive within {self.body_timeout_seconds:g} seconds.",
                    "request-timeout",
                    scope.get("path", ""),
                    request_id,
                    headers=[(b"connection", b"close")],
                )
            else:
                await self.app(scope, body.receive, send_wrapper)
        except DATABASE_UNAVAILABLE as exc:
            # Not a bug: the database is down or every connection is busy. A 503 tells the
            # caller (the store, or CJ for a webhook) to try again; no trace needed.
            log.warning("database_unavailable", error=type(exc).__name__)
            if not status_holder["started"]:
                await self._send_problem(
                    send_wrapper,
                    503,
                    "Service Unavailable",
                    "The database is unavailable or busy; retry shortly "
                    "(with the same Idempotency-Key, a retry is safe).",
                    "database-unavailable",
                    scope.get("path", ""),
                    request_id,
                    headers=[(b"retry-after", b"5")],
                )
        except Exception:
            log.exception("unhandled_exception")
            if not status_holder["started"]:
                await self._send_problem(
                    send_wrapper,
                    500,
                    "Internal Server Error",
                    "The service failed unexpectedly; the error is logged with this request id.",
                    "internal",
                    scope.get("path", ""),
                    request_id,
                )
        finally:
            template = route_template(scope)
            elapsed = time.perf_counter() - started
            status = str(status_holder["status"])
            HTTP_REQUESTS.labels(method=method, route=template, status=status).inc()
            HTTP_LATENCY.labels(method=method, route=template).observe(elapsed)
            log.info(
                "http_request",
                route=template,
                status=status_holder["status"],
                duration_ms=round(elapsed * 1000, 1),
            )
            structlog.contextvars.unbind_contextvars("request_id", "method", "path")

    async def _read_body(self, scope: Scope, receive: Receive, method: str) -> _Body:
        """Read the whole body (at most the limit) before the app sees it, within
        `body_timeout_seconds` from the first byte we wait for.

        Reading it here is what lets a slow client be answered 408: once FastAPI reads the
        body, any failure to receive it becomes its own 400.
        """
        if method not in _BODY_METHODS:
            return _Body("ok", receive)
        length = _header(scope, b"content-length")
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
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return _Body("ok", _replay_then(body, receive))

    @staticmethod
    async def _send_problem(
        send: Send,
        status: int,
        title: str,
        detail: str,
        slug: str,
        instance: str,
        request_id: str,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        body = _problem_bytes(status, title, detail, slug, instance, request_id)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    *(headers or []),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
