from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from app.core.clock import utcnow
from app.db.models import Fulfillment
from app.services.notifications import OutboxWriter
from app.sinks.medusa import MedusaAdminSink
from app.sinks.notification import FulfillmentNotification, NotificationEvent
from app.sinks.webhook import WebhookSink
from tests.fixtures.notifications import FIRST_LABEL, SECOND_LABEL, outbox_rows, stored_fulfillment

BOTH = OutboxWriter({"medusa": MedusaAdminSink.events, "webhook": WebhookSink.events})


async def load(session: AsyncSession, fulfillment_id: str, *, with_items: bool) -> Fulfillment:
    query = select(Fulfillment).where(Fulfillment.id == fulfillment_id)
    if with_items:
        query = query.options(selectinload(Fulfillment.items))
    return (await session.scalars(query)).one()


class TestEnqueue:
    async def test_one_row_per_configured_sink_with_the_whole_snapshot(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        stored = await stored_fulfillment(sessionmaker)
        happened = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
        before = datetime.now(UTC)
        async with sessionmaker.begin() as session:
            fulfillment = await load(session, stored.id, with_items=False)
            await BOTH.enqueue(
                session, fulfillment, NotificationEvent.shipped, occurred_at=happened
            )

        rows = await outbox_rows(sessionmaker)
        assert [(r.sink, r.event_type, r.status, r.attempts) for r in rows] == [
            ("medusa", "shipped", "pending", 0),
            ("webhook", "shipped", "pending", 0),
        ]
        assert all(r.fulfillment_id == stored.id for r in rows)
        assert all(before <= r.next_attempt_at <= datetime.now(UTC) for r in rows)
        assert rows[0].payload == rows[1].payload
        notification = FulfillmentNotification.model_validate(rows[0].payload)
        assert notification.id.startswith("evt_")
        assert notification.type == "fulfillment.shipped"
        assert notification.timestamp == happened
        data = notification.data
        assert (data.id, data.external_id, data.order_id) == (
            stored.id,
            stored.external_id,
            stored.order_id,
        )
        assert (data.status, data.cj_order_id, data.cj_order_number, data.cj_status) == (
            "shipped",
            stored.cj_order_id,
            stored.cj_order_number,
            "SHIPPED",
        )
        assert [(i.line_item_id, i.sku, i.quantity) for i in data.items] == [
            (f"ordli_{stored.id[3:]}_a", "TEE-M", 2),
            (f"ordli_{stored.id[3:]}_b", None, 1),
        ]
        unset = {"last_mile_number": None, "problem": None}  # not known for these numbers
        assert [label.model_dump() for label in data.tracking] == [
            FIRST_LABEL | unset,
            SECOND_LABEL | unset,
        ]
        assert rows[0].payload["timestamp"] == "2026-11-20T08:30:00Z"

    async def test_loaded_items_are_used_as_they_are(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        stored = await stored_fulfillment(sessionmaker)
        async with sessionmaker.begin() as session:
            fulfillment = await load(session, stored.id, with_items=True)
            [message] = await OutboxWriter({"webhook": WebhookSink.events}).enqueue(
                session, fulfillment, NotificationEvent.delivered
            )
        assert [i["quantity"] for i in message.payload["data"]["items"]] == [2, 1]

    @pytest.mark.parametrize(
        ("event", "sinks"),
        [
            (NotificationEvent.cj_order_created, ["webhook"]),
            (NotificationEvent.tracking_updated, ["medusa", "webhook"]),
            (NotificationEvent.delivered, ["medusa", "webhook"]),
            (NotificationEvent.cancelled, ["medusa", "webhook"]),
            (NotificationEvent.failed, ["medusa", "webhook"]),
        ],
    )
    async def test_a_sink_gets_only_the_events_it_delivers(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        event: NotificationEvent,
        sinks: list[str],
    ) -> None:
        stored = await stored_fulfillment(sessionmaker)
        async with sessionmaker.begin() as session:
            await BOTH.enqueue(session, await load(session, stored.id, with_items=False), event)
        assert [r.sink for r in await outbox_rows(sessionmaker)] == sinks

    async def test_nothing_is_written_without_sinks(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        stored = await stored_fulfillment(sessionmaker)
        async with sessionmaker.begin() as session:
            fulfillment = await load(session, stored.id, with_items=False)
            written = await OutboxWriter({}).enqueue(
                session, fulfillment, NotificationEvent.shipped
            )
        assert written == []
        assert await outbox_rows(sessionmaker) == []

    async def test_it_never_commits_so_a_rollback_takes_the_rows_with_it(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        stored = await stored_fulfillment(sessionmaker)
        async with sessionmaker() as session:
            fulfillment = await load(session, stored.id, with_items=False)
            fulfillment.status = "delivered"
            await BOTH.enqueue(session, fulfillment, NotificationEvent.delivered)
            await session.rollback()
        assert await outbox_rows(sessionmaker) == []

    async def test_the_payload_is_what_was_true_at_the_change(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        stored = await stored_fulfillment(sessionmaker, tracking=[FIRST_LABEL], status="unshipped")
        async with sessionmaker.begin() as session:
            fulfillment = await load(session, stored.id, with_items=False)
            fulfillment.status = "shipped"
            await BOTH.enqueue(session, fulfillment, NotificationEvent.shipped)
        async with sessionmaker.begin() as session:
            fulfillment = await load(session, stored.id, with_items=False)
            fulfillment.tracking = [FIRST_LABEL, SECOND_LABEL]
            fulfillment.status = "delivered"

        [medusa, _webhook] = await outbox_rows(sessionmaker)
        assert medusa.payload["data"]["status"] == "shipped"
        assert [t["number"] for t in medusa.payload["data"]["tracking"]] == [FIRST_LABEL["number"]]
        # The status change was flushed before the snapshot was taken.
        assert datetime.fromisoformat(medusa.payload["data"]["updated_at"]) > stored.updated_at

    async def test_changes_queue_in_order(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        stored = await stored_fulfillment(sessionmaker)
        writer = OutboxWriter({"webhook": WebhookSink.events})
        async with sessionmaker.begin() as session:
            fulfillment = await load(session, stored.id, with_items=False)
            for event in (
                NotificationEvent.tracking_updated,
                NotificationEvent.shipped,
                NotificationEvent.delivered,
            ):
                await writer.enqueue(session, fulfillment, event)
        rows = await outbox_rows(sessionmaker)
        assert [r.event_type for r in rows] == ["tracking_updated", "shipped", "delivered"]
        assert [r.id for r in rows] == sorted(r.id for r in rows)
        assert len({r.payload["id"] for r in rows}) == 3

    async def test_without_flush_the_rows_wait_for_the_unit_of_work_in_order(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        stored = await stored_fulfillment(sessionmaker, status="unshipped")
        writer = OutboxWriter({"webhook": WebhookSink.events})
        async with sessionmaker.begin() as session:
            fulfillment = await load(session, stored.id, with_items=False)
            queued = []
            for status, event in (
                ("shipped", NotificationEvent.shipped),
                ("delivered", NotificationEvent.delivered),
            ):
                fulfillment.status, fulfillment.updated_at = status, utcnow()
                queued += await writer.enqueue(session, fulfillment, event, flush=False)
            # Nothing was flushed: the commit writes the row and both messages.
            assert fulfillment in session.dirty
            assert all(message in session.new for message in queued)
        rows = await outbox_rows(sessionmaker)
        assert [r.event_type for r in rows] == ["shipped", "delivered"]
        assert [r.id for r in rows] == sorted(r.id for r in rows)
        assert [r.payload["data"]["status"] for r in rows] == ["shipped", "delivered"]

    async def test_without_flush_the_snapshot_still_carries_what_a_flush_fills(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        stored = await stored_fulfillment(sessionmaker, status="unshipped")
        async with sessionmaker.begin() as session:
            fulfillment = await load(session, stored.id, with_items=False)
            fulfillment.status = "shipped"  # updated_at is left to its onupdate
            await BOTH.enqueue(session, fulfillment, NotificationEvent.shipped, flush=False)
        [medusa, _webhook] = await outbox_rows(sessionmaker)
        async with sessionmaker() as session:
            reloaded = await session.get(Fulfillment, stored.id)
        assert reloaded is not None
        assert datetime.fromisoformat(medusa.payload["data"]["updated_at"]) == (reloaded.updated_at)
        assert reloaded.updated_at > stored.updated_at

    async def test_events_may_be_named_and_unknown_ones_are_refused(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        stored = await stored_fulfillment(sessionmaker)
        async with sessionmaker.begin() as session:
            fulfillment = await load(session, stored.id, with_items=False)
            [message] = await OutboxWriter({"webhook": WebhookSink.events}).enqueue(
                session, fulfillment, "cancelled"
            )
            assert message.payload["type"] == "fulfillment.cancelled"
            with pytest.raises(ValueError, match="lost_at_sea"):
                await BOTH.enqueue(session, fulfillment, "lost_at_sea")
