"""The stock loop: reads the mapped products' stock from CJ every STOCK_POLL_SECONDS (the
first pass one interval after start: adding a product read its stock, and a worker that
restarts often must not spend CJ's points on it), and within `poll_seconds` the products
a CJ callback named."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from app.services.stock_poll import StockPoller

log = structlog.get_logger(__name__)


class StockWorker:
    def __init__(
        self, poller: StockPoller, *, interval_seconds: float, poll_seconds: float
    ) -> None:
        self._poller = poller
        self._interval_seconds = interval_seconds
        self._poll_seconds = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        next_pass = time.monotonic() + self._interval_seconds
        while not stop.is_set():
            try:
                if self._interval_seconds and time.monotonic() >= next_pass:
                    next_pass = time.monotonic() + self._interval_seconds
                    report = await self._poller.poll()
                    log.info(
                        "stock_poll_done",
                        products=report.products,
                        changed=report.changed,
                        delisted=report.delisted,
                        stopped=report.stopped,
                    )
                await self._poller.refresh_requested()
            except Exception:
                log.exception("stock_poll_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._poll_seconds)
