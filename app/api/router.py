"""Mounts the versioned API; every /v1 route requires an API key."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.deps import require_api_key
from app.api.problems import PROBLEM_RESPONSES
from app.api.v1 import fulfillments, options, rates

v1_router = APIRouter(
    prefix="/v1", dependencies=[Depends(require_api_key)], responses=PROBLEM_RESPONSES
)
v1_router.include_router(options.router)
v1_router.include_router(rates.router)
v1_router.include_router(fulfillments.router)
