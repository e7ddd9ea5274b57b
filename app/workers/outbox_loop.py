"""The outbox loop: delivers the store's notifications to the configured sinks."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from app.core.metrics import WORKER_LOOP_PASS
from app.services.notifications import OutboxDispatcher

log = structlog.get_logger(__name__)

BATCH = 50


class OutboxWorker:
    def __init__(self, dispatcher: OutboxDispatcher, *, poll_seconds: float) -> None:
        self._dispatcher = dispatcher
        self._poll_seconds = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        if not self._dispatcher.sinks:
            log.info("outbox_worker_idle", reason="no sink configured (MEDUSA_URL, NOTIFY_URL)")
            return
        log.info("outbox_worker_started", sinks=self._dispatcher.sinks)
        while not stop.is_set():
            again = False
            try:
                report = await self._dispatcher.deliver_due(limit=BATCH)
                # A full batch (or more: a paused sink's probe comes on top), or one that
                # delivered: the next message of a queue (a fulfillment's, or the one
                # catalogue queue per sink) is due now.
                again = report.claimed >= BATCH or report.delivered > 0
            except Exception:
                log.exception("outbox_pass_failed")
            WORKER_LOOP_PASS.labels(loop="outbox").set(time.time())
            if not again:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll_seconds)
        log.info("outbox_worker_stopped")
