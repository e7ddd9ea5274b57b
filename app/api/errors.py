"""Exception handlers: every error leaves the service as application/problem+json."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.middleware.request_id import request_id_of
from app.api.problems import error_response, problem_body, problem_response
from app.core.errors import AppError, InvalidRequest


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


async def handle_app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc, request.scope)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": _field_name(error.get("loc", ())),
            "message": str(error.get("msg", "invalid")),
            "type": str(error.get("type", "value_error")),
        }
        for error in exc.errors()
    ]
    fields = ", ".join(e["field"] for e in errors) or "body"
    invalid = InvalidRequest(f"The request is invalid: {fields}.", extra={"errors": errors})
    return error_response(invalid, request.scope)


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = HTTPStatus(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else status.description
    if exc.status_code == 404:
        detail = f"No resource at {request.url.path}."
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    body = problem_body(
        status=exc.status_code,
        title=status.phrase,
        detail=detail,
        type_slug=status.phrase.lower().replace(" ", "-"),
        instance=request.url.path,
        request_id=request_id_of(request.scope),
    )
    return problem_response(body, dict(exc.headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
