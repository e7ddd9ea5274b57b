"""The retention loop: prunes old webhook inbox rows and idempotency keys, hourly."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.core.clock import utcnow
from app.services.retention import Retention

log = structlog.get_logger(__name__)


class RetentionWorker:
    def __init__(self, retention: Retention, *, interval_seconds: float) -> None:
        self._retention = retention
        self._interval_seconds = interval_seconds

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._retention.prune(utcnow())
            except Exception:
                log.exception("retention_pass_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval_seconds)
