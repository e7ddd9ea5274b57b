"""Every query on `outbox`: notifications waiting for, or done with, delivery."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import FulfillmentItem, OutboxMessage


@dataclass(frozen=True)
class ClaimedMessage:
    """A message taken for one delivery attempt; `attempts` counts this one, `due_at` is
    when it was due before the claim pushed it to the lease."""

    id: int
    fulfillment_id: str | None
    sink: str
    event_type: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class SinkBacklog:
    sink: str
    pending: int
    oldest_pending_at: datetime | None
    dead: int


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, messages: Sequence[OutboxMessage], *, flush: bool = True) -> None:
        """Insert in the given order (ids grow with it: delivery follows ids); without
        `flush`, at the session's next flush (the unit of work keeps the order)."""
        self._session.add_all(messages)
        if flush:
            await self._session.flush()

    async def items_of(self, fulfillment_id: str) -> list[FulfillmentItem]:
        """A fulfillment's line items, for the snapshot a notification carries."""
        rows = await self._session.scalars(
            select(FulfillmentItem)
            .where(FulfillmentItem.fulfillment_id == fulfillment_id)
            .order_by(FulfillmentItem.id)
        )
        return list(rows)

    async def claim_due(
        self, *, now: datetime, sinks: Collection[str], limit: int, lease_until: datetime
    ) -> list[ClaimedMessage]:
        """Claim up to `limit` due messages: push them to `lease_until`, count the attempt.

        A message waits while an older pending message of the same fulfillment and sink
        exists, so a sink sees one fulfillment's changes in order. Rows another claimer
        holds are skipped (`FOR UPDATE SKIP LOCKED`); the UPDATE re-checks each row, which
        is the whole claim on SQLite (no row locks there). The lease commits with the
        claim, so no transaction stays open while a sink is called.
        """
        if not sinks:
            return []
        older = aliased(OutboxMessage)
        # Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT … FOR UPDATE): Postgres
        # may rescan such a subquery and so claim more than `limit` rows.
        due = await self._session.execute(
            select(OutboxMessage.id, OutboxMessage.next_attempt_at)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.sink.in_(sinks),
                ~exists().where(
                    and_(
                        older.status == "pending",
                        older.sink == OutboxMessage.sink,
                        # NULL (ops alerts) is one queue too: "resolved" never overtakes "firing".
                        older.fulfillment_id.is_not_distinct_from(OutboxMessage.fulfillment_id),
                        older.id < OutboxMessage.id,
                    )
                ),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage)
        )
        due_at: dict[int, datetime] = dict(due.all())
        ids = list(due_at)
        if not ids:
            return []
        rows = await self._session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease_until, attempts=OutboxMessage.attempts + 1)
            .returning(
                OutboxMessage.id,
                OutboxMessage.fulfillment_id,
                OutboxMessage.sink,
                OutboxMessage.event_type,
                OutboxMessage.payload,
                OutboxMessage.attempts,
                OutboxMessage.created_at,
            )
            .execution_options(synchronize_session=False)
        )
        claimed = [ClaimedMessage(**row._asdict(), due_at=due_at[row.id]) for row in rows.all()]
        return sorted(claimed, key=lambda message: message.id)

    async def mark_delivered(self, message_id: int, at: datetime) -> None:
        """A sink took it: delivered, whoever claimed it last."""
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
            .values(status="delivered", delivered_at=at, last_error=None)
            .execution_options(synchronize_session=False)
        )

    async def release(self, messages: Collection[ClaimedMessage]) -> None:
        """Undo the claims of messages that were not sent: due again when they were due
        before, their attempt not counted (the fence of `mark_failed`)."""
        for message in messages:
            await self._session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message.id,
                    OutboxMessage.status == "pending",
                    OutboxMessage.attempts == message.attempts,
                )
                .values(next_attempt_at=message.due_at, attempts=OutboxMessage.attempts - 1)
                .execution_options(synchronize_session=False)
            )

    async def mark_failed(
        self, message: ClaimedMessage, error: str, *, retry_at: datetime | None
    ) -> bool:
        """Schedule the next attempt at `retry_at`, or give up (`dead`) when it is None.

        Only the latest claim records a failure (`attempts` fences it), so a claimer whose
        lease ran out cannot undo a newer attempt. False when the row was not changed.
        """
        values: dict[str, Any] = {"last_error": error}
        if retry_at is None:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = retry_at
        result = await self._session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.status == "pending",
                OutboxMessage.attempts == message.attempts,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def backlog(self) -> list[SinkBacklog]:
        """Pending count, oldest pending creation time and dead count of every sink."""
        rows = await self._session.execute(
            select(
                OutboxMessage.sink,
                OutboxMessage.status,
                func.count(),
                func.min(OutboxMessage.created_at),
            )
            .where(OutboxMessage.status.in_(("pending", "dead")))
            .group_by(OutboxMessage.sink, OutboxMessage.status)
        )
        by_sink: dict[str, SinkBacklog] = {}
        for sink, status, count, oldest in rows.all():
            current = by_sink.get(sink, SinkBacklog(sink, 0, None, 0))
            if status == "pending":
                current = SinkBacklog(sink, count, oldest, current.dead)
            else:
                current = SinkBacklog(sink, current.pending, current.oldest_pending_at, count)
            by_sink[sink] = current
        return sorted(by_sink.values(), key=lambda backlog: backlog.sink)

    async def listing(self, statuses: Collection[str], limit: int) -> list[OutboxMessage]:
        """Up to `limit` messages with one of `statuses`, oldest first."""
        rows = await self._session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_(statuses))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return list(rows)

    async def statuses(self, ids: Collection[int]) -> dict[int, str]:
        """The status of each of `ids` that exists."""
        rows = await self._session.execute(
            select(OutboxMessage.id, OutboxMessage.status).where(OutboxMessage.id.in_(ids))
        )
        return dict(rows.all())

    async def replay_dead(self, ids: Collection[int] | None, now: datetime) -> list[int]:
        """Dead -> pending, attempts reset, due at `now`; `ids=None` replays every dead one."""
        statement = update(OutboxMessage).where(OutboxMessage.status == "dead")
        if ids is not None:
            statement = statement.where(OutboxMessage.id.in_(ids))
        rows = await self._session.execute(
            statement.values(status="pending", attempts=0, next_attempt_at=now)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(rows.scalars().all())
