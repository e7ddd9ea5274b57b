"""The payment loop (CJ_PAY_TYPE=balance): tries again the balance payments that are due
(services.payment_retry). Errors are logged and the loop goes on."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.services.payment_retry import PaymentRetrier

log = structlog.get_logger(__name__)


class PaymentWorker:
    def __init__(self, retrier: PaymentRetrier, *, poll_seconds: float) -> None:
        self._retrier = retrier
        self._poll_seconds = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._retrier.retry_due()
            except Exception:
                log.exception("payment_retry_pass_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._poll_seconds)
