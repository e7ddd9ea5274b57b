"""The last resort: an exception no handler knew about still leaves as problem+json.

A database that is down or out of connections is not a bug: 503 with `Retry-After`, so
the caller (the store, or CJ for a webhook) tries again, logged without a trace. Anything
else is a 500 that carries the request id, logged with its trace. Once a response has
started, nothing more can be sent: the failure is only logged.
"""

from __future__ import annotations

import structlog
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import Message, Receive, Scope, Send

from app.api.middleware.base import HTTPMiddleware
from app.api.problems import error_response
from app.core.errors import AppError, DatabaseUnavailable

# The pool waited too long for a connection, or the database refused or dropped one
# (asyncpg's connect errors arrive unwrapped, as the built-in ConnectionError family).
DATABASE_UNAVAILABLE = (PoolTimeoutError, OperationalError, InterfaceError, ConnectionError)

log = structlog.get_logger("app.access")


class LastResortMiddleware(HTTPMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_watched)
        except DATABASE_UNAVAILABLE as exc:
            log.warning("database_unavailable", error=type(exc).__name__)
            if not started:
                unavailable = DatabaseUnavailable(
                    "The database is unavailable or busy; retry shortly "
                    "(with the same Idempotency-Key, a retry is safe).",
                    retry_after_seconds=5,
                )
                await error_response(unavailable, scope)(scope, receive, send)
        except Exception:
            log.exception("unhandled_exception")
            if not started:
                internal = AppError(
                    "The service failed unexpectedly; the error is logged with this request id."
                )
                await error_response(internal, scope)(scope, receive, send)
