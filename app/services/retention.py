"""Retention: webhook inbox rows and idempotency keys are deleted once they are older than
anyone could still need them.

- An inbox row dedupes CJ's redeliveries (unique `messageId`): CJ retries a failed
  delivery 3 times, 5 minutes apart, and a topic re-registered after a pause replays
  recent messages, so a settled row is kept `WEBHOOK_INBOX_RETENTION_DAYS` (30). Rows
  still waiting for work (`received`, `awaiting_confirmation`) are never deleted.
- An idempotency key replays a create's first answer: Medusa retries `createFulfillment`
  only when someone fulfils the order again, which can be days later, so keys are kept
  `IDEMPOTENCY_RETENTION_DAYS` (30).

Deletes go in batches, each its own short transaction, so a large backlog never holds
long locks; running it twice at once (two workers) deletes nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.repositories.idempotency import IdempotencyRepository
from app.db.repositories.webhook_inbox import WebhookInboxRepository

log = structlog.get_logger(__name__)

BATCH = 1000
# Inbox rows the service still has work for.
INBOX_PENDING = ("received", "awaiting_confirmation")


@dataclass(frozen=True)
class RetentionReport:
    webhook_inbox: int
    idempotency_keys: int


class Retention:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        webhook_inbox_days: float,
        idempotency_days: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.webhook_inbox_age = timedelta(days=webhook_inbox_days)
        self.idempotency_age = timedelta(days=idempotency_days)

    async def prune(self, now: datetime) -> RetentionReport:
        inbox_cutoff = now - self.webhook_inbox_age
        keys_cutoff = now - self.idempotency_age
        inbox = await self._in_batches(
            lambda session: WebhookInboxRepository(session).delete_settled_before(
                inbox_cutoff, keep=INBOX_PENDING, limit=BATCH
            )
        )
        keys = await self._in_batches(
            lambda session: IdempotencyRepository(session).delete_created_before(
                keys_cutoff, limit=BATCH
            )
        )
        if inbox or keys:
            log.info("retention_pruned", webhook_inbox=inbox, idempotency_keys=keys)
        return RetentionReport(webhook_inbox=inbox, idempotency_keys=keys)

    async def _in_batches(self, delete_batch: _BatchDelete) -> int:
        total = 0
        while True:
            async with self._sessionmaker.begin() as session:
                deleted = await delete_batch(session)
            total += deleted
            if deleted < BATCH:
                return total


_BatchDelete = Callable[[AsyncSession], Awaitable[int]]
