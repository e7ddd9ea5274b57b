"""Liveness and readiness (always open, for load balancers) and metrics (behind the ops key)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.api.deps import ContainerDep, require_ops_key
from app.api.problems import PROBLEM_RESPONSES
from app.core.metrics import REGISTRY

router = APIRouter(tags=["ops"])
log = structlog.get_logger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(container: ContainerDep) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), container.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("readiness_database_failed", error=type(exc).__name__)
        return "down"
    return "ok"


async def _check_redis(container: ContainerDep) -> str:
    if container.redis is None:
        return "not_configured"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await container.redis.ping()
    except Exception as exc:
        log.warning("readiness_redis_failed", error=type(exc).__name__)
        return "down"
    return "ok"


async def _check_cj_token(container: ContainerDep) -> str:
    """From the stored token only: readiness never spends a CJ request."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            state = await container.cj.tokens.state()
    except Exception as exc:
        log.warning("readiness_cj_token_failed", error=type(exc).__name__)
        return "unknown"
    if state is None or state.access_token is None:
        return "missing"
    return state.status(datetime.now(UTC))


@router.get("/health/ready")
async def ready(container: ContainerDep) -> JSONResponse:
    """503 only when the database is down: without Redis or CJ the service still serves."""
    database, redis, cj_token = await asyncio.gather(
        _check_database(container), _check_redis(container), _check_cj_token(container)
    )
    breaker = container.cj.breaker_state
    checks: dict[str, Any] = {
        "database": database,
        "redis": redis,
        "cj_breaker": breaker,
        "cj_token": cj_token,
    }
    degraded = redis == "down" or breaker != "closed" or cj_token in {"expired", "unknown"}
    status_code = 503 if database != "ok" else 200
    status = "down" if status_code == 503 else ("degraded" if degraded else "ok")
    return JSONResponse({"status": status, "checks": checks}, status_code=status_code)


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(require_ops_key)],
    responses={401: PROBLEM_RESPONSES[401]},
)
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
