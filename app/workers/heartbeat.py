"""The worker's heartbeat: proof that its event loop runs, for Prometheus
(`worker_heartbeat_timestamp_seconds`), the liveness probe (`python -m
app.workers.liveness`) and `cj-fulfillment status` (a Redis key per worker that expires
when the beats stop)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import UTC, datetime

import structlog
from redis.asyncio import Redis

from app.core.metrics import WORKER_HEARTBEAT
from app.services.operations import record_heartbeat

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 5.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    def __init__(self, redis: Redis | None, *, interval: float = HEARTBEAT_SECONDS) -> None:
        self._redis = redis
        self._interval = interval
        self.name = worker_name()

    async def beat(self) -> None:
        now = datetime.now(UTC)
        WORKER_HEARTBEAT.set(now.timestamp())
        if self._redis is not None:
            try:
                await record_heartbeat(self._redis, self.name, now)
            except Exception as exc:
                log.warning("worker_heartbeat_redis_failed", error=type(exc).__name__)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.beat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
