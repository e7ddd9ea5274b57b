"""The webhook loop: applies the CJ webhooks the intake stored, a batch at a time, and
looks again at once while batches come back full."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.services.webhook_applier import WebhookApplier

log = structlog.get_logger(__name__)


class WebhookWorker:
    def __init__(self, applier: WebhookApplier, *, batch: int, poll_seconds: float) -> None:
        self._applier = applier
        self._batch = batch
        self._poll_seconds = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        log.info("webhook_worker_started", batch=self._batch)
        while not stop.is_set():
            full = False
            try:
                full = await self._applier.apply_due(limit=self._batch) >= self._batch
            except Exception:
                log.exception("webhook_pass_failed")
            if not full:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll_seconds)
        log.info("webhook_worker_stopped")
