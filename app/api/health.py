"""Liveness and readiness (always open, for load balancers) and metrics (behind the ops key)."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.api.deps import ContainerDep, OpsKeyRefused, require_ops_key
from app.api.problems import problem_responses
from app.cj.tokens import TokenHealth
from app.core.metrics import READINESS, READINESS_CHECKS, REGISTRY

router = APIRouter(tags=["ops"])
log = structlog.get_logger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
# cj_token values under which no CJ call can succeed right now.
TOKEN_NOT_WORKING = frozenset({"expired", "waiting", "unknown"})


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


async def _check_cj_token(container: ContainerDep) -> TokenHealth:
    """From the stored token and the getAccessToken claim only: readiness never spends a
    CJ request."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await container.cj.tokens.health()
    except Exception as exc:
        log.warning("readiness_cj_token_failed", error=type(exc).__name__)
        return TokenHealth("unknown")


@router.get("/health/ready")
async def ready(container: ContainerDep) -> JSONResponse:
    """503 only when the database is down: without Redis or CJ the service still serves
    (checkout falls back to cached, stale or static prices; orders queue). `degraded` when
    Redis is down, the CJ breaker is not closed, or no CJ token works now (`cj_token`
    `expired`, `waiting` with `cj_token_retry_at`, or `unknown`)."""
    database, redis, token = await asyncio.gather(
        _check_database(container), _check_redis(container), _check_cj_token(container)
    )
    breaker = container.cj.breaker_state
    checks: dict[str, Any] = {
        "database": database,
        "redis": redis,
        "cj_breaker": breaker,
        "cj_token": token.status,
    }
    if token.retry_at is not None:
        checks["cj_token_retry_at"] = token.retry_at.astimezone(UTC).isoformat()
    degraded = redis == "down" or breaker != "closed" or token.status in TOKEN_NOT_WORKING
    status_code = 503 if database != "ok" else 200
    READINESS.set(1 if status_code == 200 else 0)
    healthy = {"ok", "not_configured", "closed", "valid", "refresh_due"}
    for name in ("database", "redis", "cj_breaker", "cj_token"):
        READINESS_CHECKS.labels(check=name).set(1 if checks[name] in healthy else 0)
    status = "down" if status_code == 503 else ("degraded" if degraded else "ok")
    return JSONResponse({"status": status, "checks": checks}, status_code=status_code)


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(require_ops_key)],
    responses=problem_responses(OpsKeyRefused),
)
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
