from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db.models import SkuMapping
from app.db.repositories.sku_mappings import SkuMappingRepository
from tests.fixtures.statements import StatementLog


@pytest.fixture
def sessionmaker(clean_db: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(clean_db, expire_on_commit=False)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, SkuMapping]:
    async with sessionmaker() as session:
        return {m.sku: m for m in await session.scalars(select(SkuMapping))}


class TestVidsFor:
    async def test_only_known_skus_in_one_query(
        self, session: AsyncSession, statements: StatementLog
    ) -> None:
        repository = SkuMappingRepository(session)
        await repository.upsert("TSHIRT-RED-M", "vid-red-m", "CN")
        await repository.upsert("MUG-BLUE", "vid-mug", None)

        with statements.recording() as seen:
            vids = await repository.vids_for(["MUG-BLUE", "NOPE", "TSHIRT-RED-M", "MUG-BLUE"])

        assert vids == {"MUG-BLUE": "vid-mug", "TSHIRT-RED-M": "vid-red-m"}
        assert len(seen) == 1

    async def test_nothing_asked_nothing_queried(
        self, session: AsyncSession, statements: StatementLog
    ) -> None:
        with statements.recording() as seen:
            assert await SkuMappingRepository(session).vids_for([]) == {}
        assert seen == []


class TestUpsert:
    async def test_added_updated_unchanged(
        self, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        repository = SkuMappingRepository(session)
        assert await repository.upsert("SKU-1", "vid-1", None) == "added"
        await session.commit()
        first = (await stored(sessionmaker))["SKU-1"]

        assert await repository.upsert("SKU-1", "vid-1", None) == "unchanged"
        await session.commit()
        assert (await stored(sessionmaker))["SKU-1"].updated_at == first.updated_at

        assert await repository.upsert("SKU-1", "vid-2", None) == "updated"
        assert await repository.upsert("SKU-1", "vid-2", "US") == "updated"
        assert await repository.upsert("SKU-1", "vid-2", "US") == "unchanged"
        assert await repository.upsert("SKU-1", "vid-2", None) == "updated"
        await session.commit()

        row = (await stored(sessionmaker))["SKU-1"]
        assert (row.vid, row.from_country) == ("vid-2", None)
        assert row.created_at == first.created_at
        assert row.updated_at > first.updated_at

    async def test_never_commits(
        self, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        assert await SkuMappingRepository(session).upsert("SKU-1", "vid-1", "CN") == "added"
        await session.rollback()
        assert await stored(sessionmaker) == {}


class TestFirst:
    async def test_in_sku_order_up_to_the_limit(self, session: AsyncSession) -> None:
        repository = SkuMappingRepository(session)
        for sku in ("C", "A", "B"):
            await repository.upsert(sku, f"vid-{sku}", None)
        assert [m.sku for m in await repository.first(2)] == ["A", "B"]
