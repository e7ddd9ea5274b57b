"""The tracking loop: confirms CJ webhooks we could not trust, and polls fulfillments CJ
has been quiet about. One pass at a time; errors are logged and the loop goes on."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from app.core.metrics import WORKER_LOOP_PASS
from app.services.tracking_readback import TrackingReadback

log = structlog.get_logger(__name__)


class TrackingWorker:
    def __init__(self, sync: TrackingReadback, *, poll_seconds: float) -> None:
        self._sync = sync
        self._poll_seconds = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        log.info("tracking_worker_started")
        while not stop.is_set():
            busy = await self._pass(stop)
            WORKER_LOOP_PASS.labels(loop="tracking").set(time.time())
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll_seconds)
        log.info("tracking_worker_stopped")

    async def _pass(self, stop: asyncio.Event) -> bool:
        """One round of both jobs; True when there was work (so look again at once)."""
        busy = False
        try:
            busy |= await self._sync.confirm_due() > 0
        except Exception:
            log.exception("tracking_pass_failed", job="confirm")
        try:
            busy |= await self._sync.poll_due(stop=stop) > 0
        except Exception:
            log.exception("tracking_pass_failed", job="poll")
        return busy
