"""The dispute loop: every DISPUTE_POLL_SECONDS, asks CJ about the refund disputes it has
not decided (CJ sends no webhook for them). Errors are logged and the loop goes on."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.services.disputes import DisputeFollower

log = structlog.get_logger(__name__)


class DisputeWorker:
    def __init__(self, follower: DisputeFollower, *, interval_seconds: float) -> None:
        self._follower = follower
        self._interval = interval_seconds

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._follower.follow_due()
            except Exception:
                log.exception("dispute_pass_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
