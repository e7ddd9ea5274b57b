"""RFC 9457 problem documents: the one shape every error response takes, built here only.

`problem_body` is the one builder; the exception handlers, the middleware and the
fulfillment route's answers all go through it (`problem_response` is its JSONResponse,
`error_body`/`error_response` the ones of an `AppError`; a stored answer is sent again
with the request's own `instance` and `request_id` by `in_request`). `problem_responses`
documents the errors a route answers with, from the error classes themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.types import Scope

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


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem document (from `problem_body` or `error_body`) as the answer."""
    return JSONResponse(
        body, status_code=body["status"], headers=headers, media_type=PROBLEM_CONTENT_TYPE
    )


def error_body(error: AppError, scope: Scope | None = None) -> dict[str, Any]:
    """The document of `error`; with the request's `instance` and `request_id` when given
    its scope (without them it can be stored and sent again, see `in_request`)."""
    body = problem_body(
        status=error.status_code,
        title=error.title,
        detail=error.detail,
        type_slug=error.type_slug,
        extra=error.extra,
    )
    return body if scope is None else in_request(body, scope)


def in_request(document: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """A stored problem document as this request's answer: its `instance` and `request_id`."""
    body = {**document, "instance": scope.get("path", "")}
    request_id = request_id_of(scope)
    if request_id is not None:
        body["request_id"] = request_id
    return body


def error_response(error: AppError, scope: Scope) -> JSONResponse:
    """The answer to an `AppError` raised (or returned) while serving the request."""
    headers = dict(error.headers)
    if error.retry_after_seconds is not None:
        headers["Retry-After"] = str(error.retry_after_seconds)
    return problem_response(error_body(error, scope), headers)


def problem_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the errors a route answers with: per status, the Problem
    model and the descriptions of its errors, in the order given."""
    texts: dict[int, list[str]] = {}
    for error in errors:
        texts.setdefault(error.status_code, []).append(error.description)
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_CONTENT_TYPE: {}},
            "description": "; ".join(texts[status]),
        }
        for status in sorted(texts)
    }
