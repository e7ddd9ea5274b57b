"""The worker's claim of its next batch of CJ webhooks on the real Postgres: it costs the
batch, not the inbox's backlog or the settled messages kept before it."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.core.clock import utcnow
from app.db.inbox_writer import MAX_ROWS_PER_STATEMENT, InboxWriter
from app.db.repositories.webhook_inbox import WebhookInboxRepository


async def store(engine: AsyncEngine, count: int, *, status: str = "received") -> None:
    """`count` ORDER messages of about CJ's size, stored as the intake stores them."""
    writer = InboxWriter(engine)
    rows = []
    for _ in range(count):
        message_id = uuid.uuid4().hex
        body = {"messageId": message_id, "type": "ORDER", "params": {"orderNumber": "nobody"}}
        rows.append(
            {
                "message_id": message_id,
                "topic": "ORDER",
                "message_type": "UPDATE",
                "raw_body": json.dumps(body) + " " * 800,
                "signature_valid": True,
                "path_token_valid": True,
                "status": status,
                "error": None,
                "attempts": 0,
                "received_at": utcnow(),
                "processed_at": None if status == "received" else utcnow(),
            }
        )
    for start in range(0, count, MAX_ROWS_PER_STATEMENT):
        batch = rows[start : start + MAX_ROWS_PER_STATEMENT]
        assert all(await asyncio.gather(*(writer.store(row) for row in batch)))


async def test_claiming_a_batch_reads_the_batch_not_the_backlog(clean_db: AsyncEngine) -> None:
    """3,000 settled messages, then a backlog of 3,000: the worker's claim of 35 (its own
    statement, explained with the parameters it sent) reads a few dozen pages, where it
    walked the 3,000 settled ones (or sorted the whole backlog) before the pending index."""
    await store(clean_db, 3000, status="applied")
    await store(clean_db, 3000)
    async with clean_db.connect() as conn:
        await conn.execute(text("ANALYZE webhook_inbox"))
        await conn.commit()
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(clean_db.sync_engine, "before_cursor_execute", record)
    try:
        async with async_sessionmaker(clean_db)() as session:
            due = await WebhookInboxRepository(session).due("received", now=utcnow(), limit=35)
            assert len(due) == 35
    finally:
        event.remove(clean_db.sync_engine, "before_cursor_execute", record)
    [(statement, parameters)] = [(s, p) for s, p in sent if "FOR UPDATE" in s]
    async with clean_db.connect() as conn:
        explained = await conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + statement, parameters
        )
        plan = "\n".join(explained.scalars())
    found = re.search(r"Buffers: shared hit=(\d+)(?: read=(\d+))?", plan)
    assert found is not None, plan
    pages = int(found.group(1)) + int(found.group(2) or 0)
    assert pages < 200, plan
    assert "Sort" not in plan, plan
