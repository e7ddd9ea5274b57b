"""RFC 9457 problem documents: the one shape every error response takes, built here only.

`problem_body` is the one builder; the exception handlers, the middleware and the
fulfillment route's answers all go through it (or `problem_response`, its JSONResponse).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from app.api.middleware.request_id import request_id_of
from app.core.errors import PROBLEM_TYPE_BASE, AppError

PROBLEM_CONTENT_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """An error response (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_body(
    *,
    status: int,
    title: str,
    detail: str,
    type_slug: str,
    instance: str | None = None,
    request_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + type_slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return body


def problem_response(
    *,
    status: int,
    title: str,
    detail: str,
    type_slug: str,
    instance: str | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = problem_body(
        status=status,
        title=title,
        detail=detail,
        type_slug=type_slug,
        instance=instance,
        request_id=request_id,
        extra=extra,
    )
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def error_response(error: AppError, request: Request) -> JSONResponse:
    """The answer to an `AppError` raised (or returned) while serving `request`."""
    headers = dict(error.headers)
    if error.retry_after_seconds is not None:
        headers["Retry-After"] = str(error.retry_after_seconds)
    return problem_response(
        status=error.status_code,
        title=error.title,
        detail=error.detail,
        type_slug=error.type_slug,
        instance=request.url.path,
        request_id=request_id_of(request.scope),
        headers=headers,
        extra=error.extra,
    )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_CONTENT_TYPE: {}}, "description": text}
    for status, text in (
        (400, "The body is not JSON the service can read (e.g. nested too deep)"),
        (401, "Missing or wrong API key"),
        (408, "The body did not arrive within BODY_TIMEOUT_SECONDS (the connection is closed)"),
        (413, "Body larger than the configured limit"),
        (422, "Invalid request"),
    )
}
