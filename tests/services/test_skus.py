from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.container import Container
from app.core.errors import Unprocessable
from app.db.repositories.sku_mappings import SkuMappingRepository
from app.services.skus import ItemRef, ResolvedItem, UnknownSkus, VariantResolver
from tests.fixtures.app import start
from tests.fixtures.statements import StatementLog


@pytest.fixture
async def sessionmaker(clean_db: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    factory = async_sessionmaker(clean_db, expire_on_commit=False)
    async with factory.begin() as session:
        repository = SkuMappingRepository(session)
        await repository.upsert("TSHIRT-RED-M", "vid-red-m", "CN")
        await repository.upsert("MUG-BLUE", "vid-mug", None)
    return factory


@pytest.fixture
def resolver(sessionmaker: async_sessionmaker[AsyncSession]) -> VariantResolver:
    return VariantResolver(sessionmaker)


class TestResolve:
    async def test_a_given_vid_wins_and_needs_no_query(
        self, resolver: VariantResolver, statements: StatementLog
    ) -> None:
        with statements.recording() as seen:
            resolved = await resolver.resolve([ItemRef("TSHIRT-RED-M", "vid-direct", 2)])
        assert resolved == [ResolvedItem("TSHIRT-RED-M", "vid-direct", 2)]
        assert seen == []

    async def test_skus_are_looked_up_in_one_query_keeping_order(
        self, resolver: VariantResolver, statements: StatementLog
    ) -> None:
        items = [
            ItemRef("MUG-BLUE", None, 1),
            ItemRef(None, "vid-only", 3),
            ItemRef("TSHIRT-RED-M", None, 2),
            ItemRef("MUG-BLUE", None, 4),
        ]
        with statements.recording() as seen:
            resolved = await resolver.resolve(items)
        assert resolved == [
            ResolvedItem("MUG-BLUE", "vid-mug", 1),
            ResolvedItem(None, "vid-only", 3),
            ResolvedItem("TSHIRT-RED-M", "vid-red-m", 2),
            ResolvedItem("MUG-BLUE", "vid-mug", 4),
        ]
        assert len(seen) == 1

    async def test_known_skus_are_remembered_and_unknown_ones_asked_again(
        self,
        resolver: VariantResolver,
        sessionmaker: async_sessionmaker[AsyncSession],
        statements: StatementLog,
    ) -> None:
        await resolver.resolve([ItemRef("MUG-BLUE", None, 1)])
        with statements.recording() as seen:
            assert await resolver.resolve([ItemRef("MUG-BLUE", None, 1)]) == [
                ResolvedItem("MUG-BLUE", "vid-mug", 1)
            ]
        assert seen == []
        with pytest.raises(UnknownSkus):
            await resolver.resolve([ItemRef("NEW-SKU", None, 1)])
        async with sessionmaker.begin() as session:
            await SkuMappingRepository(session).upsert("NEW-SKU", "vid-new", None)
        assert await resolver.resolve([ItemRef("NEW-SKU", None, 1)]) == [
            ResolvedItem("NEW-SKU", "vid-new", 1)
        ]

    async def test_without_a_cache_every_call_reads_the_mappings(
        self, sessionmaker: async_sessionmaker[AsyncSession], statements: StatementLog
    ) -> None:
        resolver = VariantResolver(sessionmaker, cache_seconds=0)
        await resolver.resolve([ItemRef("MUG-BLUE", None, 1)])
        with statements.recording() as seen:
            await resolver.resolve([ItemRef("MUG-BLUE", None, 1)])
        assert len(seen) == 1

    async def test_every_unknown_sku_is_named_once_in_request_order(
        self, resolver: VariantResolver
    ) -> None:
        items = [
            ItemRef("ZED", None, 1),
            ItemRef("MUG-BLUE", None, 1),
            ItemRef("ALPHA", None, 1),
            ItemRef("ZED", None, 2),
            ItemRef("KNOWN-BY-VID", "vid-x", 1),
        ]
        with pytest.raises(UnknownSkus) as raised:
            await resolver.resolve(items)
        error = raised.value
        assert error.status_code == 422
        assert error.type_slug == "unknown-sku"
        assert error.extra == {"unknown_skus": ["ZED", "ALPHA"]}
        assert error.detail == (
            "Unknown SKU(s): ZED, ALPHA; map them with `cj-fulfillment skus import` or send `vid`"
        )

    @pytest.mark.parametrize("blank", [None, ""])
    async def test_an_item_with_neither_sku_nor_vid_is_unprocessable(
        self, resolver: VariantResolver, blank: str | None
    ) -> None:
        items = [ItemRef("MUG-BLUE", None, 1), ItemRef(blank, blank, 1)]
        with pytest.raises(Unprocessable) as raised:
            await resolver.resolve(items)
        assert not isinstance(raised.value, UnknownSkus)
        assert raised.value.detail == "items[1] has neither `sku` nor `vid`; send one of them"


class TestComposition:
    async def test_container_carries_a_resolver_on_the_services_database(
        self, sessionmaker: async_sessionmaker[AsyncSession], app: FastAPI
    ) -> None:
        async for _client in start(app):
            container: Container = app.state.container
            resolved = await container.variants.resolve([ItemRef("MUG-BLUE", None, 1)])
            assert resolved == [ResolvedItem("MUG-BLUE", "vid-mug", 1)]
