"""One migration chain; it goes up and down on Postgres and matches the models."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.base import Base
from tests.fixtures.database import TEST_DATABASE_URL, alembic_config, ensure_database

# Named after the test database, so runs against different test databases never share it.
SCRATCH_URL = TEST_DATABASE_URL + "_migrations"


@pytest.fixture
async def scratch_url() -> str:
    await ensure_database(SCRATCH_URL, fresh=True)
    return SCRATCH_URL


async def table_names(url: str) -> set[str]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {row["tablename"] for row in rows}


class TestMigrationChain:
    async def test_upgrade_downgrade_upgrade(self, scratch_url: str) -> None:
        config = alembic_config(scratch_url)
        await asyncio.to_thread(command.upgrade, config, "head")
        expected = {t.name for t in Base.metadata.sorted_tables}
        assert expected <= await table_names(scratch_url)
        await asyncio.to_thread(command.downgrade, config, "base")
        assert await table_names(scratch_url) == {"alembic_version"}
        await asyncio.to_thread(command.upgrade, config, "head")
        assert expected <= await table_names(scratch_url)

    async def test_models_match_migrations(self, engine: AsyncEngine) -> None:
        def diff(sync_conn: Any) -> list[Any]:
            context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as conn:
            differences = await conn.run_sync(diff)
        assert differences == []


class TestConstraints:
    async def insert(self, engine: AsyncEngine, sql: str) -> None:
        async with engine.begin() as conn:
            await conn.execute(text(sql))

    async def test_idempotency_key_is_unique(self, clean_db: AsyncEngine) -> None:
        sql = (
            "INSERT INTO idempotency_keys (key, request_hash, state)"
            " VALUES ('k1', 'h', 'in_progress')"
        )
        await self.insert(clean_db, sql)
        with pytest.raises(IntegrityError):
            await self.insert(clean_db, sql)

    async def test_inbox_message_id_is_unique(self, clean_db: AsyncEngine) -> None:
        sql = (
            "INSERT INTO webhook_inbox (message_id, raw_body, status, attempts, received_at)"
            " VALUES ('m1', '{}', 'received', 0, now())"
        )
        await self.insert(clean_db, sql)
        with pytest.raises(IntegrityError):
            await self.insert(clean_db, sql)

    def fulfillment_sql(self, id_: str, number: str, status: str = "pending") -> str:
        return (
            "INSERT INTO fulfillments (id, external_id, order_id, option_id, status,"
            " cj_order_number, from_country, shipping_address, tracking, tracking_events,"
            f" attempts) VALUES ('{id_}', 'e', 'o', 'us-standard', '{status}', '{number}', 'US',"
            " '{}', '[]', '[]', 0)"
        )

    async def test_cj_order_number_is_unique(self, clean_db: AsyncEngine) -> None:
        await self.insert(clean_db, self.fulfillment_sql("f1", "n1"))
        with pytest.raises(IntegrityError):
            await self.insert(clean_db, self.fulfillment_sql("f2", "n1"))

    async def test_status_must_be_known(self, clean_db: AsyncEngine) -> None:
        with pytest.raises(IntegrityError, match="fulfillments_status_check"):
            await self.insert(clean_db, self.fulfillment_sql("f1", "n1", status="lost"))
