"""Retention on Postgres: settled inbox rows and idempotency keys past their age go; rows
still waiting for work and younger ones stay."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.cli import main
from app.core.clock import utcnow
from app.core.config import get_settings
from app.db.models import IdempotencyKey, WebhookInboxMessage
from app.services import retention as retention_module
from app.services.retention import Retention
from app.workers.retention_loop import RetentionWorker

NOW = utcnow()
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)


async def seed(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as session:
        for name, status, received in [
            ("old-applied", "applied", OLD),
            ("old-ignored", "ignored", OLD),
            ("old-malformed", "malformed", OLD),
            ("old-awaiting", "awaiting_confirmation", OLD),
            ("old-received", "received", OLD),
            ("recent-applied", "applied", RECENT),
        ]:
            session.add(
                WebhookInboxMessage(
                    message_id=name, raw_body="{}", status=status, received_at=received
                )
            )
        for name, created in [("old-key", OLD), ("recent-key", RECENT)]:
            session.add(
                IdempotencyKey(key=name, request_hash="h", state="completed", created_at=created)
            )


async def remaining(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[set[str], set[str]]:
    async with sessionmaker() as session:
        inbox = set(await session.scalars(select(WebhookInboxMessage.message_id)))
        keys = set(await session.scalars(select(IdempotencyKey.key)))
    return {m for m in inbox if m}, keys


KEPT = (
    {"old-awaiting", "old-received", "recent-applied"},
    {"recent-key"},
)


def retention(sessionmaker: async_sessionmaker[AsyncSession]) -> Retention:
    return Retention(sessionmaker, webhook_inbox_days=30, idempotency_days=30)


async def test_prune_deletes_only_what_is_settled_and_old(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessionmaker)
    report = await retention(sessionmaker).prune(NOW)
    assert (report.webhook_inbox, report.idempotency_keys) == (3, 1)
    assert await remaining(sessionmaker) == KEPT
    again = await retention(sessionmaker).prune(NOW)
    assert (again.webhook_inbox, again.idempotency_keys) == (0, 0)


async def test_a_backlog_goes_in_batches(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention_module, "BATCH", 2)
    await seed(sessionmaker)
    report = await retention(sessionmaker).prune(NOW)
    assert (report.webhook_inbox, report.idempotency_keys) == (3, 1)
    assert await remaining(sessionmaker) == KEPT


async def test_the_worker_prunes(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessionmaker)
    stop = asyncio.Event()
    worker = asyncio.create_task(
        RetentionWorker(retention(sessionmaker), interval_seconds=60).run(stop)
    )
    try:
        async with asyncio.timeout(30):
            while await remaining(sessionmaker) != KEPT:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await worker


async def test_the_cli_prunes_with_the_configured_ages(
    sessionmaker: async_sessionmaker[AsyncSession],
    clean_db: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await seed(sessionmaker)
    monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("WEBHOOK_INBOX_RETENTION_DAYS", "60")
    monkeypatch.setenv("IDEMPOTENCY_RETENTION_DAYS", "7")
    get_settings.cache_clear()
    try:
        assert await asyncio.to_thread(main, ["retention", "prune"]) == 0
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "webhook inbox:    deleted 0 (settled, older than 60 days)",
        "idempotency keys: deleted 2 (older than 7 days)",
    ]
    inbox, keys = await remaining(sessionmaker)
    assert len(inbox) == 6
    assert keys == set()


def test_retention_is_at_least_a_day() -> None:
    from pydantic import ValidationError

    from app.core.config import Settings

    with pytest.raises(ValidationError, match="webhook_inbox_retention_days"):
        Settings(_env_file=None, webhook_inbox_retention_days=0.5)  # type: ignore[call-arg]
