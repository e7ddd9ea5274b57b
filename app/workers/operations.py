"""The ops loop: every few seconds, the operator's snapshot (counts, token, last webhook,
outbox) becomes the worker's gauges, so Prometheus sees what `cj-fulfillment status`
prints, and the ops alerter decides what to tell the chat sinks. One reader per worker;
several workers export the same figures (alert on max)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from app.core.metrics import WORKER_LOOP_PASS
from app.services.operations import OpsReader, publish_gauges
from app.services.ops_alerts import OpsAlerter

log = structlog.get_logger(__name__)

OPS_REFRESH_SECONDS = 15.0


class OperationsWorker:
    def __init__(
        self,
        reader: OpsReader,
        alerter: OpsAlerter | None = None,
        *,
        interval: float = OPS_REFRESH_SECONDS,
    ) -> None:
        self._reader = reader
        self._alerter = alerter
        self._interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)

    async def refresh(self) -> None:
        try:
            snapshot = await self._reader.snapshot()
            publish_gauges(snapshot)
            if self._alerter is not None:
                await self._alerter.evaluate(snapshot)
        except Exception:
            log.exception("ops_refresh_failed")
            return
        WORKER_LOOP_PASS.labels(loop="ops").set(time.time())
