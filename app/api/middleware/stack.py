"""The middleware in their order; see the package docstring for what each one does."""

from __future__ import annotations

from fastapi import FastAPI

from app.api.middleware.body_limit import BodyLimitMiddleware
from app.api.middleware.last_resort import LastResortMiddleware
from app.api.middleware.metrics import RequestMetricsMiddleware
from app.api.middleware.request_id import RequestIdMiddleware


def install_middleware(app: FastAPI, *, max_body_bytes: int, body_timeout_seconds: float) -> None:
    # Each add_middleware wraps the ones added before it: the last one is the outermost.
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=max_body_bytes,
        body_timeout_seconds=body_timeout_seconds,
    )
    app.add_middleware(LastResortMiddleware)
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
