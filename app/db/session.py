"""Engine and session factories. Repositories flush; the unit of work commits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from app.core.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.uses_sqlite:
        engine = create_async_engine(settings.database_url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_recycle=1800,
        pool_timeout=10,
    )
    IdlePing(settings.database_ping_idle_seconds).watch(engine)
    return engine


class IdlePing:
    """Pings a pooled connection before use only when it sat idle `idle_seconds` or more.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: on asyncpg that is BEGIN, a
    query and ROLLBACK, three round trips before each request's own. A connection in
    steady use is known to be alive; one that waited may have been cut (a database
    restart, a firewall's idle timeout) and is replaced before anyone uses it. A cut
    connection used within `idle_seconds` fails that one request (503), and SQLAlchemy
    then replaces every connection of the pool.
    """

    def __init__(self, idle_seconds: float) -> None:
        self._idle_seconds = idle_seconds

    def watch(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "checkin", self._checked_in)
        event.listen(engine.sync_engine, "checkout", self._checked_out)

    @staticmethod
    def _checked_in(_connection: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def _checked_out(
        self, connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object
    ) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < self._idle_seconds:
            return
        try:
            connection.ping()  # asyncpg's adapter has one
        except Exception as exc:
            # The pool discards this connection and checks out another (SQLAlchemy's
            # pessimistic disconnect handling).
            raise DisconnectionError("a pooled connection is gone") from exc


_IDLE_SINCE = "cjf_idle_since"


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """WAL lets the in-process worker write while the API reads; FKs are off by default."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the body succeeds, roll back when it raises."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work for services that decide their own: commits when the block ends,
    rolls back when it raises (also on `return` from inside the block: it commits)."""
    async with factory() as session, session.begin():
        yield session
