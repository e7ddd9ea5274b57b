"""The intake's group commit (db.inbox_writer) on the real Postgres: deliveries that arrive
together share one statement, the first of a messageId wins, and a row the database
refuses fails its own request only."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.core.clock import utcnow
from app.db.inbox_writer import InboxWriter
from app.db.models import WebhookInboxMessage
from tests.fixtures.statements import StatementLog


def row(message_id: str | None, **values: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "topic": "ORDER",
        "message_type": "UPDATE",
        "raw_body": f'{{"messageId": "{message_id}"}}',
        "signature_valid": True,
        "path_token_valid": False,
        "status": "received",
        "error": None,
        "attempts": 0,
        "received_at": utcnow(),
        "processed_at": None,
    } | values


async def stored(engine: AsyncEngine) -> list[WebhookInboxMessage]:
    async with async_sessionmaker(engine)() as session:
        query = select(WebhookInboxMessage).order_by(WebhookInboxMessage.id)
        return list((await session.execute(query)).scalars())


async def test_deliveries_arriving_together_share_one_statement(clean_db: AsyncEngine) -> None:
    writer = InboxWriter(clean_db)
    ids = [uuid.uuid4().hex for _ in range(5)]
    with StatementLog(clean_db).recording() as executed:
        outcomes = await asyncio.gather(
            *(writer.store(row(message_id)) for message_id in ids),
            writer.store(row(ids[2], signature_valid=False)),  # the same message again
            writer.store(row(None, status="malformed")),
        )
        assert outcomes == [True, True, True, True, True, False, True]
        assert len(executed) == 1
        assert await writer.store(row(ids[0])) is False  # stored by the earlier statement
        assert len(executed) == 2
    rows = await stored(clean_db)
    assert [r.message_id for r in rows] == [*ids, None]  # in the order they arrived
    assert all(r.signature_valid for r in rows)  # the first delivery of ids[2] won
    assert (rows[0].path_token_valid, rows[0].attempts, rows[-1].status) == (
        False,
        0,
        "malformed",
    )
    assert rows[0].received_at.tzinfo is not None


async def test_a_row_the_database_refuses_fails_alone(clean_db: AsyncEngine) -> None:
    writer = InboxWriter(clean_db)
    first, last = uuid.uuid4().hex, uuid.uuid4().hex
    outcomes = await asyncio.gather(
        writer.store(row(uuid.uuid4().hex)),
        writer.store(row(first)),
        writer.store(row("x" * 201)),  # longer than the column
        writer.store(row(last)),
        return_exceptions=True,
    )
    assert outcomes[:2] == [True, True]
    assert isinstance(outcomes[2], DBAPIError)
    assert outcomes[3] is True
    assert {r.message_id for r in await stored(clean_db)} >= {first, last}


@pytest.mark.parametrize("count", [1, 300])
async def test_every_waiting_delivery_is_answered(clean_db: AsyncEngine, count: int) -> None:
    writer = InboxWriter(clean_db)
    outcomes = await asyncio.gather(*(writer.store(row(uuid.uuid4().hex)) for _ in range(count)))
    assert outcomes == [True] * count
    assert len(await stored(clean_db)) == count


async def test_a_redelivery_does_not_wait_for_the_worker_holding_its_row(
    clean_db: AsyncEngine,
) -> None:
    """The worker holds the rows of its batch (FOR UPDATE, then their new status) until its
    commit: CJ's redelivery of one of them is answered as a duplicate meanwhile, without
    waiting for that transaction (it waited on its transaction id before)."""
    writer = InboxWriter(clean_db)
    message_id = uuid.uuid4().hex
    assert await writer.store(row(message_id)) is True
    async with clean_db.connect() as worker, clean_db.connect() as observer:
        held = {"id": message_id}
        await worker.execute(
            text("SELECT id FROM webhook_inbox WHERE message_id = :id FOR UPDATE"), held
        )
        await worker.execute(
            text("UPDATE webhook_inbox SET status = 'applied' WHERE message_id = :id"), held
        )
        redelivery = asyncio.create_task(writer.store(row(message_id)))
        try:
            while not redelivery.done():
                waiting = await observer.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                        "ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()"
                    )
                )
                assert waiting == 0, "the redelivery waits for the worker's transaction"
                await asyncio.sleep(0.01)
            assert await redelivery is False
        finally:
            await worker.rollback()
            await asyncio.gather(redelivery, return_exceptions=True)
    [stored_row] = await stored(clean_db)
    assert (stored_row.message_id, stored_row.status) == (message_id, "received")
