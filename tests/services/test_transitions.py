"""`StatusChanges.move`: one event and its notifications per change, in the caller's
transaction; nothing for a move the rules refuse (late, repeated, backwards, out of a
terminal status); a notification that cannot be written fails the change. `annotate`:
news without a status change."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.clock import utcnow
from app.db.models import Fulfillment, FulfillmentEvent, OutboxMessage
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.session import transaction
from app.services.notifications import OutboxWriter
from app.services.statuses import Status
from app.services.transitions import StatusChanges
from app.sinks.notification import NotificationEvent
from app.sinks.webhook import WebhookSink

CHANGES = StatusChanges(OutboxWriter({"webhook": WebhookSink.events}))


def a_fulfillment() -> Fulfillment:
    now = utcnow()
    return Fulfillment(
        id="ful_transition",
        external_id="ext",
        order_id="order",
        option_id="us-standard",
        status="pending",
        cj_order_number="ful_transition",
        from_country="US",
        shipping_address={},
        tracking=[],
        tracking_events=[],
        created_at=now,
        updated_at=now,
    )


async def history(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                FulfillmentEvent.source, FulfillmentEvent.from_status, FulfillmentEvent.to_status
            ).order_by(FulfillmentEvent.id)
        )
        return [tuple(row) for row in rows]


async def test_changes_are_recorded_once_and_never_go_back(clean_db: AsyncEngine) -> None:
    sessions = async_sessionmaker(clean_db, expire_on_commit=False)
    async with transaction(sessions) as session:
        repository = FulfillmentRepository(session)
        row = a_fulfillment()
        await repository.add(row)
        assert await CHANGES.move(repository, row, Status.pending, source="api", initial=True)

    async with transaction(sessions) as session:
        repository = FulfillmentRepository(session)
        row = await repository.get_for_update("ful_transition")
        assert row is not None
        assert await CHANGES.move(repository, row, Status.unshipped, source="webhook")
        assert not await CHANGES.move(repository, row, Status.created, source="poll")  # late
        assert not await CHANGES.move(repository, row, Status.unshipped, source="poll")  # again
        assert not await CHANGES.move(repository, row, Status.failed, source="worker")
        assert await CHANGES.move(repository, row, Status.cancelled, source="cj", reason="refund")
        assert not await CHANGES.move(repository, row, Status.delivered, source="webhook")

    assert await history(clean_db) == [
        ("api", None, "pending"),
        ("webhook", "pending", "unshipped"),
        ("cj", "unshipped", "cancelled"),
    ]
    async with sessions() as session:
        stored = await session.get(Fulfillment, "ful_transition")
        assert stored is not None
        assert (stored.status, stored.status_reason) == ("cancelled", "refund")
    assert await outbox_events(clean_db) == ["cj_order_created", "cancelled"]
    # What made each change travels with it (the Medusa sink sends no cancel back to the
    # store for a change our API made).
    async with clean_db.connect() as conn:
        payloads = (
            await conn.execute(select(OutboxMessage.payload).order_by(OutboxMessage.id))
        ).scalars()
        assert [p["data"]["change_source"] for p in payloads] == ["webhook", "cj"]


async def outbox_events(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(OutboxMessage.event_type).order_by(OutboxMessage.id))
        return list(rows.scalars())


async def change_then_fail(
    sessions: async_sessionmaker[AsyncSession], changes: StatusChanges = CHANGES
) -> None:
    async with transaction(sessions) as session:
        repository = FulfillmentRepository(session)
        row = await repository.get_for_update("ful_transition")
        assert row is not None
        await changes.move(repository, row, Status.created, source="worker")
        raise RuntimeError("the unit of work fails after the change")


async def test_the_event_rolls_back_with_the_change(clean_db: AsyncEngine) -> None:
    sessions = async_sessionmaker(clean_db, expire_on_commit=False)
    async with transaction(sessions) as session:
        await FulfillmentRepository(session).add(a_fulfillment())
    with pytest.raises(RuntimeError):
        await change_then_fail(sessions)
    async with clean_db.connect() as conn:
        events = await conn.scalar(select(func.count()).select_from(FulfillmentEvent))
        status = await conn.scalar(select(Fulfillment.status))
    assert (events, status) == (0, "pending")


async def test_a_notification_that_cannot_be_written_fails_the_change(
    clean_db: AsyncEngine,
) -> None:
    # A sink name longer than the outbox column: Postgres refuses the row.
    unwritable = StatusChanges(OutboxWriter({"s" * 40: WebhookSink.events}))
    sessions = async_sessionmaker(clean_db, expire_on_commit=False)
    async with transaction(sessions) as session:
        await FulfillmentRepository(session).add(a_fulfillment())
    with pytest.raises(DBAPIError):
        await change_then_fail(sessions, unwritable)
    async with clean_db.connect() as conn:
        events = await conn.scalar(select(func.count()).select_from(FulfillmentEvent))
        status = await conn.scalar(select(Fulfillment.status))
    assert (events, status) == (0, "pending")
    assert await outbox_events(clean_db) == []


async def test_an_annotation_keeps_the_status_and_says_its_reason_only_when_given(
    clean_db: AsyncEngine,
) -> None:
    sessions = async_sessionmaker(clean_db, expire_on_commit=False)
    async with transaction(sessions) as session:
        repository = FulfillmentRepository(session)
        row = a_fulfillment()
        row.status_reason = "queued at CJ"
        await repository.add(row)
        before = row.updated_at
        await CHANGES.annotate(
            repository,
            row,
            source="webhook",
            detail={"problem": "exception"},
            event=NotificationEvent.tracking_exception,
        )
        assert row.status_reason == "queued at CJ"
        await CHANGES.annotate(
            repository,
            row,
            source="cj_dispute",
            reason="CJ refused the refund",
            detail=None,
            event=NotificationEvent.dispute_rejected,
        )
    async with clean_db.connect() as conn:
        details = (
            await conn.scalars(select(FulfillmentEvent.detail).order_by(FulfillmentEvent.id))
        ).all()
        stored = (await conn.execute(select(Fulfillment.status, Fulfillment.status_reason))).one()
    assert await history(clean_db) == [
        ("webhook", "pending", "pending"),
        ("cj_dispute", "pending", "pending"),
    ]
    assert details == [{"problem": "exception"}, {"reason": "CJ refused the refund"}]
    assert tuple(stored) == ("pending", "CJ refused the refund")
    assert row.updated_at > before
    assert await outbox_events(clean_db) == ["tracking_exception", "dispute_rejected"]
