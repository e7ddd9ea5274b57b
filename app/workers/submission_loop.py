"""The submission loop: claims due pending fulfillments and places them at CJ.

Safe with any number of processes: rows are claimed with `SELECT … FOR UPDATE SKIP
LOCKED` plus a lease (`claimed_until`) in one short transaction, so two workers never hold
the same row, and no transaction stays open while CJ is called. On SQLite (one process)
the claim is a conditional update.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import utcnow
from app.core.metrics import WORKER_LOOP_PASS
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.session import transaction
from app.services.submission import Submitter

log = structlog.get_logger(__name__)


class SubmissionWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        submitter: Submitter,
        *,
        concurrency: int,
        poll_seconds: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._submitter = submitter
        self._concurrency = concurrency
        self._poll_seconds = poll_seconds
        self._in_flight: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("submission_worker_started", concurrency=self._concurrency)
        try:
            while not stop.is_set():
                free = self._concurrency - len(self._in_flight)
                claimed = await self._claim_safely(free) if free > 0 else []
                for fulfillment_id, maybe_at_cj in claimed:
                    task = asyncio.create_task(self._submit(fulfillment_id, maybe_at_cj))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
                WORKER_LOOP_PASS.labels(loop="submissions").set(time.time())
                if claimed and len(claimed) == free:
                    await self._wait_for_slot(stop)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._poll_seconds)
        finally:
            await self._drain()
            log.info("submission_worker_stopped")

    async def _claim_safely(self, limit: int) -> list[tuple[str, bool]]:
        try:
            return await self.claim_due(limit)
        except Exception:
            log.exception("submission_claim_failed")
            return []

    async def claim_due(self, limit: int) -> list[tuple[str, bool]]:
        """Lease up to `limit` due rows; (id, whether CJ may have it already) for each."""
        now = utcnow()
        until = now + self._submitter.lease
        claimed: list[tuple[str, bool]] = []
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            for fulfillment_id in await repository.due_ids(now=now, limit=limit):
                maybe_at_cj = await repository.claim(fulfillment_id, now=now, until=until)
                if maybe_at_cj is not None:
                    claimed.append((fulfillment_id, maybe_at_cj))
        return claimed

    async def _submit(self, fulfillment_id: str, maybe_at_cj: bool) -> None:
        try:
            await self._submitter.submit_claimed(
                fulfillment_id,
                maybe_at_cj=maybe_at_cj,
                deadline=time.monotonic() + self._submitter.worker_budget_seconds,
                source="worker",
            )
        except Exception:
            # The lease runs out and the row is taken again, looked up first.
            log.exception("submission_crashed", fulfillment_id=fulfillment_id)

    async def _wait_for_slot(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({stopping, *self._in_flight}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()

    async def _drain(self) -> None:
        """Let the submissions in flight finish (each is bounded by its deadline)."""
        if not self._in_flight:
            return
        log.info("submission_worker_draining", in_flight=len(self._in_flight))
        grace = self._submitter.worker_budget_seconds + 5
        _done, pending = await asyncio.wait(set(self._in_flight), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
