"""Errors the service raises on purpose; each knows its HTTP status and problem type.

A service says when a retry makes sense (`retry_after_seconds`); the API turns that
into the `Retry-After` header. Only the API layer sets `headers` itself. `description`
is what the OpenAPI document says about the answer (`app.api.problems.problem_responses`
builds a route's `responses=` from the errors it names), so subclass for a case worth
documenting rather than writing its text in a route.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_TYPE_BASE = "https://cj-fulfillment.dev/problems/"


class AppError(Exception):
    status_code: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"
    type_slug: ClassVar[str] = "internal"
    description: ClassVar[str] = "The service failed unexpectedly"

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}
        self.retry_after_seconds = retry_after_seconds


class BadRequest(AppError):
    status_code = 400
    title = "Bad Request"
    type_slug = "bad-request"
    description = "Bad request"


class UnreadableBody(BadRequest):
    """FastAPI could not parse the body as JSON (Starlette answers it as an HTTP 400)."""

    description = "The body is not JSON the service can read (e.g. nested too deep)"


class Unauthorized(AppError):
    status_code = 401
    title = "Unauthorized"
    type_slug = "unauthorized"
    description = "Missing or wrong credentials"


class NotFound(AppError):
    status_code = 404
    title = "Not Found"
    type_slug = "not-found"
    description = "Not found"


class Conflict(AppError):
    status_code = 409
    title = "Conflict"
    type_slug = "conflict"
    description = "Conflicts with the current state"


class PayloadTooLarge(AppError):
    status_code = 413
    title = "Payload Too Large"
    type_slug = "payload-too-large"
    description = "Body larger than the configured limit"


class RequestTimeout(AppError):
    status_code = 408
    title = "Request Timeout"
    type_slug = "request-timeout"
    description = "The body did not arrive within BODY_TIMEOUT_SECONDS (the connection is closed)"


class Unprocessable(AppError):
    status_code = 422
    title = "Unprocessable Content"
    type_slug = "unprocessable"
    description = "Invalid request"


class UpstreamUnavailable(AppError):
    status_code = 503
    title = "Service Unavailable"
    type_slug = "upstream-unavailable"
    description = "An upstream service could not be asked; nothing changed"


class InvalidRequest(Unprocessable):
    """The request does not match the API's schema (`errors` names each field)."""

    type_slug = "validation"


class DatabaseUnavailable(AppError):
    status_code = 503
    title = "Service Unavailable"
    type_slug = "database-unavailable"
    description = "The database is unavailable or busy; retry shortly"
