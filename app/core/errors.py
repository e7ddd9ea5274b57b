"""Errors the service raises on purpose; each knows its HTTP status and problem type.

A service says when a retry makes sense (`retry_after_seconds`); the API turns that
into the `Retry-After` header. Only the API layer sets `headers` itself.
"""

from __future__ import annotations

from typing import Any

PROBLEM_TYPE_BASE = "https://cj-fulfillment.dev/problems/"


class AppError(Exception):
    status_code = 500
    title = "Internal Server Error"
    type_slug = "internal"

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


class Unauthorized(AppError):
    status_code = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class NotFound(AppError):
    status_code = 404
    title = "Not Found"
    type_slug = "not-found"


class Conflict(AppError):
    status_code = 409
    title = "Conflict"
    type_slug = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    title = "Payload Too Large"
    type_slug = "payload-too-large"


class RequestTimeout(AppError):
    status_code = 408
    title = "Request Timeout"
    type_slug = "request-timeout"
    description = "The body did not arrive within the configured time"


class Unprocessable(AppError):
    status_code = 422
    title = "Unprocessable Content"
    type_slug = "unprocessable"


class UpstreamUnavailable(AppError):
    status_code = 503
    title = "Service Unavailable"
    type_slug = "upstream-unavailable"


def problem_document(error: AppError) -> dict[str, Any]:
    """The RFC 9457 body of `error`, for answers that are stored and replayed later."""
    return {
        "type": PROBLEM_TYPE_BASE + error.type_slug,
        "title": error.title,
        "status": error.status_code,
        "detail": error.detail,
        **error.extra,
    }
