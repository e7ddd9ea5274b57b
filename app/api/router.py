"""Mounts the versioned API; every /v1 route requires an API key."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.deps import ApiKeyRefused, require_api_key
from app.api.problems import problem_responses
from app.api.v1 import fulfillments, options, products, rates
from app.core.errors import InvalidRequest, PayloadTooLarge, RequestTimeout, UnreadableBody

v1_router = APIRouter(
    prefix="/v1",
    dependencies=[Depends(require_api_key)],
    responses=problem_responses(
        UnreadableBody, ApiKeyRefused, RequestTimeout, PayloadTooLarge, InvalidRequest
    ),
)
# Rates first: checkout asks for them on every cart refresh (a router tries routes in order).
v1_router.include_router(rates.router)
v1_router.include_router(options.router)
v1_router.include_router(fulfillments.router)
v1_router.include_router(products.router)
