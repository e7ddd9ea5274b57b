"""The ops loop: every few seconds, the operator's snapshot (counts, token, last webhook,
outbox) becomes the worker's gauges, so Prometheus sees what `cj-fulfillment status`
prints. One reader per worker; several workers export the same figures (alert on max)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from app.core.metrics import WORKER_LOOP_PASS
from app.services.operations import OpsReader, publish_gauges

log = structlog.get_logger(__name__)

OPS_REFRESH_SECONDS = 15.0


class OperationsWorker:
    def __init__(self, reader: OpsReader, *, interval: float = OPS_REFRESH_SECONDS) -> None:
        self._reader = reader
        self._interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)

    async def refresh(self) -> None:
        try:
            publish_gauges(await self._reader.snapshot())
        except Exception:
            log.exception("ops_refresh_failed")
            return
        WORKER_LOOP_PASS.labels(loop="ops").set(time.time())
