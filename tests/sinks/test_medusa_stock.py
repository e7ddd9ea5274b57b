"""The Medusa stock sink through the real dispatcher on Postgres, against a local server that
checks Medusa 2.21's inventory routes and payloads (tests/fixtures/medusa_inventory.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import OutboxMessage
from app.db.repositories.outbox_messages import OutboxRepository
from app.services.notifications import OutboxDispatcher
from app.sinks.catalogue_event import EventType, VariantChange, catalogue_event_type
from app.sinks.medusa_stock import MedusaStockSink
from app.workers.outbox_loop import OutboxWorker
from tests.fixtures.medusa_inventory import INVENTORY_KEY, LOCATION, FakeInventory
from tests.fixtures.notifications import outbox_rows

RED_M = "CJ-TSHIRT-RED-M"
BLUE_M = "CJ-TSHIRT-BLUE-M"


@pytest.fixture
async def dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession], fake_inventory: FakeInventory
) -> AsyncIterator[OutboxDispatcher]:
    dispatcher = await stock_dispatcher(sessionmaker, fake_inventory.url, LOCATION)
    yield dispatcher
    await dispatcher.aclose()


async def stock_dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession],
    url: str,
    location: str,
    key: str = INVENTORY_KEY,
) -> OutboxDispatcher:
    return OutboxDispatcher(sessionmaker, [MedusaStockSink(url, SecretStr(key), location)])


async def queue_change(
    sessionmaker: async_sessionmaker[AsyncSession],
    kind: EventType,
    skus: list[str],
    stock: dict[str, int],
    *,
    listed: bool = True,
) -> None:
    change = VariantChange(
        vid="vid-red-m", pid="pid-tshirt", skus=skus, stock=stock, previous_stock={},
        listed=listed,
    )  # fmt: skip
    event = change.event(kind, datetime.now(UTC))
    async with sessionmaker.begin() as session:
        await OutboxRepository(session).add(
            [
                OutboxMessage(
                    fulfillment_id=None,
                    sink=MedusaStockSink.name,
                    event_type=catalogue_event_type(kind),
                    payload=event.model_dump(mode="json"),
                    status="pending",
                    attempts=0,
                    next_attempt_at=datetime.now(UTC),
                )
            ]
        )


class TestInventoryLevels:
    async def test_the_stock_over_cjs_warehouses_becomes_the_level_at_the_location(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        fake_inventory: FakeInventory,
    ) -> None:
        item = fake_inventory.add_item(RED_M, {LOCATION: 3, "sloc_other": 7})
        await queue_change(sessionmaker, "variant.stock_changed", [RED_M], {"CN": 40, "US": 2})

        assert (await dispatcher.deliver_due()).delivered == 1

        assert fake_inventory.writes == [
            {
                "create": [],
                "update": [
                    {"inventory_item_id": item, "location_id": LOCATION, "stocked_quantity": 42}
                ],
            }
        ]
        assert fake_inventory.level(RED_M) == 42
        assert fake_inventory.level(RED_M, "sloc_other") == 7  # another location is the store's

    async def test_an_item_not_stocked_at_the_location_yet_gets_a_level_there(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        fake_inventory: FakeInventory,
    ) -> None:
        red, blue = fake_inventory.add_item(RED_M, {LOCATION: 1}), fake_inventory.add_item(BLUE_M)
        await queue_change(sessionmaker, "variant.stock_changed", [BLUE_M, RED_M], {"US": 5})

        assert (await dispatcher.deliver_due()).delivered == 1

        [write] = fake_inventory.writes
        assert write["create"] == [
            {"inventory_item_id": blue, "location_id": LOCATION, "stocked_quantity": 5}
        ]
        assert write["update"] == [
            {"inventory_item_id": red, "location_id": LOCATION, "stocked_quantity": 5}
        ]
        assert (fake_inventory.level(RED_M), fake_inventory.level(BLUE_M)) == (5, 5)

    async def test_delisted_is_zero_relisted_is_the_stock_again_in_order(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        fake_inventory: FakeInventory,
    ) -> None:
        fake_inventory.add_item(RED_M, {LOCATION: 9})
        await queue_change(sessionmaker, "variant.delisted", [RED_M], {"US": 9}, listed=False)
        await queue_change(sessionmaker, "variant.relisted", [RED_M], {"US": 4})

        assert (await dispatcher.deliver_due()).delivered == 1  # one catalogue queue per sink
        assert fake_inventory.level(RED_M) == 0
        assert (await dispatcher.deliver_due()).delivered == 1
        assert fake_inventory.level(RED_M) == 4

    async def test_a_level_that_holds_the_figure_already_is_not_written(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        fake_inventory: FakeInventory,
    ) -> None:
        fake_inventory.add_item(RED_M, {LOCATION: 6})
        await queue_change(sessionmaker, "variant.stock_changed", [RED_M], {"US": 6})

        assert (await dispatcher.deliver_due()).delivered == 1
        assert fake_inventory.writes == []
        [row] = await outbox_rows(sessionmaker)
        assert row.status == "delivered"


class TestRefusals:
    async def test_no_inventory_item_for_the_sku_is_given_up_naming_it(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        fake_inventory: FakeInventory,
    ) -> None:
        await queue_change(sessionmaker, "variant.stock_changed", [RED_M], {"US": 1})

        assert (await dispatcher.deliver_due()).dead == 1
        [row] = await outbox_rows(sessionmaker)
        assert row.last_error == f"Medusa has no inventory item with SKU {RED_M}"

    async def test_a_location_medusa_does_not_have_is_given_up_naming_the_setting(
        self, sessionmaker: async_sessionmaker[AsyncSession], fake_inventory: FakeInventory
    ) -> None:
        fake_inventory.add_item(RED_M, {LOCATION: 1})
        dispatcher = await stock_dispatcher(sessionmaker, fake_inventory.url, "sloc_typo")
        await queue_change(sessionmaker, "variant.stock_changed", [RED_M], {"US": 2})

        assert (await dispatcher.deliver_due()).dead == 1
        await dispatcher.aclose()
        [row] = await outbox_rows(sessionmaker)
        assert row.last_error == (
            "Medusa has no stock location sloc_typo (MEDUSA_STOCK_LOCATION_ID)"
        )
        assert fake_inventory.writes == []

    @pytest.mark.parametrize(("status", "dead"), [(409, 0), (500, 0), (400, 1), (403, 0)])
    async def test_medusas_answers_retried_or_given_up(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        fake_inventory: FakeInventory,
        status: int,
        dead: int,
    ) -> None:
        fake_inventory.add_item(RED_M, {LOCATION: 1})
        fake_inventory.fail(status)
        await queue_change(sessionmaker, "variant.stock_changed", [RED_M], {"US": 2})

        report = await dispatcher.deliver_due()

        assert (report.dead, report.retried) == (dead, 1 - dead)
        [row] = await outbox_rows(sessionmaker)
        assert row.last_error is not None
        assert f"HTTP {status}: scripted" in row.last_error
        assert fake_inventory.level(RED_M) == 1

    async def test_a_refused_key_is_retried(
        self, sessionmaker: async_sessionmaker[AsyncSession], fake_inventory: FakeInventory
    ) -> None:
        dispatcher = await stock_dispatcher(sessionmaker, fake_inventory.url, LOCATION, "sk_x")
        await queue_change(sessionmaker, "variant.stock_changed", [RED_M], {"US": 2})

        assert (await dispatcher.deliver_due()).retried == 1
        await dispatcher.aclose()
        [row] = await outbox_rows(sessionmaker)
        assert row.status == "pending"
        assert row.last_error == "Medusa refused MEDUSA_SECRET_KEY: HTTP 401: Unauthorized"


class TestThroughTheOutboxWorker:
    async def test_a_pass_of_changes_reaches_medusa_without_a_poll_wait_per_message(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        fake_inventory: FakeInventory,
    ) -> None:
        """Catalogue messages are one queue per sink, delivered one per pass: the worker
        goes on at once after a pass that delivered, not after `poll_seconds`."""
        skus = [f"CJ-MUG-{n}" for n in range(5)]
        for n, sku in enumerate(skus):
            fake_inventory.add_item(sku, {LOCATION: 0})
            await queue_change(sessionmaker, "variant.stock_changed", [sku], {"US": n + 1})
        stop = asyncio.Event()
        worker = asyncio.create_task(OutboxWorker(dispatcher, poll_seconds=30).run(stop))
        try:
            async with asyncio.timeout(25):  # below one poll wait (30 s), whatever the load
                while len(fake_inventory.writes) < len(skus):
                    await asyncio.sleep(0.02)
        finally:
            stop.set()
            await worker

        assert [fake_inventory.level(sku) for sku in skus] == [1, 2, 3, 4, 5]
