"""The Postgres pool checks a connection only after it sat idle (app.db.session.IdlePing):
one cut while idle (a database restart, a firewall's timeout) is replaced before use."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.session import create_engine
from tests.fixtures.app import make_settings


async def engine_pinging_after(database_url: str, idle_seconds: float) -> AsyncEngine:
    return create_engine(
        make_settings(database_url=database_url, database_ping_idle_seconds=idle_seconds)
    )


async def backend_of(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        pid: int = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def terminate(other: AsyncEngine, pid: int) -> None:
    """What a database restart does to a pooled connection, from another engine; returns
    once the backend is gone (pg_terminate_backend only signals it, and a loaded host may
    take a while to end it)."""
    async with other.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
    async with asyncio.timeout(30):
        while True:
            async with other.connect() as conn:
                if not (await conn.execute(alive, {"pid": pid})).scalar_one():
                    return
            await asyncio.sleep(0.02)


async def test_a_connection_cut_while_idle_is_replaced_before_use(
    database_url: str, clean_db: AsyncEngine
) -> None:
    engine = await engine_pinging_after(database_url, 0.05)
    try:
        first = await backend_of(engine)
        await terminate(clean_db, first)
        await asyncio.sleep(0.1)  # idle for longer than the 0.05 s
        assert await backend_of(engine) != first  # no error: a new connection
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_checked(
    database_url: str, clean_db: AsyncEngine
) -> None:
    """What the ping saves in the test above: without it, the cut connection is used."""
    engine = await engine_pinging_after(database_url, 3600)
    try:
        first = await backend_of(engine)
        await terminate(clean_db, first)
        with pytest.raises(DBAPIError):
            await backend_of(engine)
        assert await backend_of(engine) != first  # the pool replaced its connections
    finally:
        await engine.dispose()
