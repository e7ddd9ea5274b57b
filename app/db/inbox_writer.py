"""Storing CJ's webhooks in `webhook_inbox`: the deliveries a process receives together go
in one statement (group commit).

Each request hands its row to `store` and waits for the statement that holds it. One
statement runs at a time per process; the rows that arrive meanwhile wait and go in the
next one, together. A lone delivery is one statement of one row, as before; under load
a statement holds many, so the round trip, the statement's own cost and Postgres' commit
are paid once for all of them, and none is answered before its row is committed (each
statement commits as it runs: no BEGIN or COMMIT around it).

A row whose `message_id` is already stored, or comes earlier in the same statement, is
not stored again (`store` says False): the first delivery wins, as with one insert each.
A statement that fails for the database (down, out of connections) fails every request
in it; one that fails for anything else is retried one row at a time, so only the row
that caused it fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import WebhookInboxMessage

MAX_ROWS_PER_STATEMENT = 500

_INBOX = cast(Table, WebhookInboxMessage.__table__)
# Every column the intake writes, in the statement's order; the others keep their defaults.
COLUMNS = (
    "message_id",
    "topic",
    "message_type",
    "raw_body",
    "signature_valid",
    "path_token_valid",
    "status",
    "error",
    "attempts",
    "received_at",
    "processed_at",
)
# Postgres' type of each column that is not text. Every column travels as a text array
# (asyncpg knows text[] without asking the server, which it does once per connection for
# any other array type) and is cast back here.
_PG_CASTS = {
    "signature_valid": "boolean",
    "path_token_valid": "boolean",
    "attempts": "integer",
    "received_at": "timestamptz",
    "processed_at": "timestamptz",
}
# One statement for any number of rows: each column an array, unnested in their order.
# A message already stored is left out by NOT EXISTS (read from the statement's snapshot)
# before ON CONFLICT sees it: ON CONFLICT alone waits for any transaction holding the
# stored row, and the worker holds a batch of them (FOR UPDATE, then their new status)
# until its commit, at its lower CPU priority. A CJ redelivery of a message being applied
# then kept the whole statement, and every request in it, waiting for the worker (bench:
# `Lock:transactionid` on this INSERT, p99 past 1 s at 1000/s). ON CONFLICT stays for two
# deliveries of a new message stored by two processes at once. OFFSET 0 keeps the check a
# probe of the unique index per row: as a join, the plan a connection caches while the
# inbox is nearly empty (a new database) is a hash join over the whole table, kept as
# the table grows (bench: 5x Postgres' CPU for the intake); the probe costs ~20 µs a row.
# Sent as written (`exec_driver_sql`, asyncpg's $n parameters): nothing to compile or
# bind per statement, ~90 µs of a web process's CPU less per statement than `text()`
# (8-row statements: 570 µs median, 483 with it).
_PG_STORE = (
    f"INSERT INTO webhook_inbox ({', '.join(COLUMNS)}) SELECT "
    + ", ".join(f"CAST({c} AS {_PG_CASTS[c]})" if c in _PG_CASTS else c for c in COLUMNS)
    + " FROM unnest("
    + ", ".join(f"CAST(${n} AS text[])" for n in range(1, len(COLUMNS) + 1))
    + f") AS batch({', '.join(COLUMNS)}) "
    "WHERE NOT EXISTS (SELECT 1 FROM webhook_inbox AS stored "
    "WHERE stored.message_id = batch.message_id OFFSET 0) "
    "ON CONFLICT (message_id) DO NOTHING RETURNING message_id"
)
_SQLITE_STORE = (
    sqlite_insert(_INBOX)
    .on_conflict_do_nothing(index_elements=["message_id"])
    .returning(_INBOX.c.id)
)
# The database is down or busy: every row of the statement fails alike, none is retried.
_UNAVAILABLE = (PoolTimeoutError, OperationalError, InterfaceError, ConnectionError)

Row = Mapping[str, str | bool | int | datetime | None]


class InboxWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._postgres = engine.dialect.name == "postgresql"
        self._waiting: list[tuple[Row, asyncio.Future[bool]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def store(self, row: Row) -> bool:
        """Store `row` (every column of COLUMNS); False when its `message_id` is stored
        already. Returns once the row is committed."""
        stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, stored))
        if self._writing is None:
            self._writing = asyncio.create_task(self._write_all())
        return await stored

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:MAX_ROWS_PER_STATEMENT]
                del self._waiting[:MAX_ROWS_PER_STATEMENT]
                await self._write(batch)
        finally:
            self._writing = None

    async def _write(self, batch: Sequence[tuple[Row, asyncio.Future[bool]]]) -> None:
        rows = [row for row, _ in batch]
        try:
            outcomes = await self._insert(rows)
        except _UNAVAILABLE as exc:
            for _, waiter in batch:
                _fail(waiter, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
            for one in batch:
                await self._write([one])
            return
        for (_, waiter), outcome in zip(batch, outcomes, strict=True):
            if not waiter.done():
                waiter.set_result(outcome)

    async def _insert(self, rows: Sequence[Row]) -> list[bool]:
        """One statement; for each row, whether it was stored."""
        first: set[str] = set()
        fresh = []  # the rows to insert: the first of each message_id in the batch
        for row in rows:
            message_id = row["message_id"]
            if message_id is None or message_id not in first:
                fresh.append(True)
                if isinstance(message_id, str):
                    first.add(message_id)
            else:
                fresh.append(False)
        inserting = [row for row, new in zip(rows, fresh, strict=True) if new]
        async with self._engine.connect() as connection:
            if self._postgres:
                columns = tuple([_as_text(row[c]) for row in inserting] for c in COLUMNS)
                result = await connection.exec_driver_sql(_PG_STORE, columns)
                inserted = {message_id for (message_id,) in result.all()}
            else:
                inserted = set()
                for row in inserting:
                    if (await connection.execute(_SQLITE_STORE, dict(row))).first():
                        inserted.add(row["message_id"])
        return [
            new and (row["message_id"] is None or row["message_id"] in inserted)
            for row, new in zip(rows, fresh, strict=True)
        ]


def _as_text(value: str | bool | int | datetime | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _fail(waiter: asyncio.Future[bool], exc: Exception) -> None:
    if not waiter.done():
        waiter.set_exception(exc)
