"""The stock loop: reads the mapped products' stock from CJ every STOCK_POLL_SECONDS."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.services.stock_poll import StockPoller

log = structlog.get_logger(__name__)


class StockWorker:
    def __init__(self, poller: StockPoller, *, interval_seconds: float) -> None:
        self._poller = poller
        self._interval_seconds = interval_seconds

    async def run(self, stop: asyncio.Event) -> None:
        if not self._interval_seconds:
            return
        while not stop.is_set():
            try:
                report = await self._poller.poll()
                log.info(
                    "stock_poll_done",
                    products=report.products,
                    changed=report.changed,
                    delisted=report.delisted,
                    stopped=report.stopped,
                )
            except Exception:
                log.exception("stock_poll_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval_seconds)
