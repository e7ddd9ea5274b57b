"""The operator's snapshot on the real Postgres and Redis: what `cj-fulfillment status`
prints, what the worker's gauges say, and what counts as needing attention."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cj.envelope import PointsInfo
from app.cj.tokens import TokenState, account_id
from app.cli import main as cli
from app.container import Container, token_cipher
from app.core.config import Settings, get_settings
from app.core.metrics import REGISTRY
from app.db.models import OutboxMessage, WebhookInboxMessage
from app.db.token_store import DatabaseTokenStore
from app.services.operations import OpsReader, attention, publish_gauges, record_heartbeat
from tests.fixtures.app import make_settings
from tests.fixtures.notifications import stored_fulfillment

CJ_KEY = "CJ0000001@api@operations-test"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def ops_settings(clean_db: AsyncEngine, redis_url: str) -> Settings:
    return make_settings(
        database_url=clean_db.url.render_as_string(False), redis_url=redis_url, cj_api_key=CJ_KEY
    )


@pytest.fixture
async def resources(ops_settings: Settings) -> AsyncIterator[Container]:
    built = Container.build(ops_settings, process="test")
    try:
        yield built
    finally:
        await built.close()


async def _store_token(settings: Settings, resources: Container, expires: datetime) -> None:
    store = DatabaseTokenStore(resources.sessionmaker, token_cipher(settings))
    await store.save(
        account_id(SecretStr(CJ_KEY)),
        TokenState("access", expires, "refresh", expires + timedelta(days=150), "open-id"),
    )


async def _busy_store(resources: Container) -> None:
    """Two pending (one for 40 minutes), a failure, orders at CJ, a dead notification."""
    sessions = resources.sessionmaker
    old = NOW - timedelta(minutes=40)
    await stored_fulfillment(
        sessions, status="pending", cj_order_id=None, cj_status=None, created_at=old
    )
    await stored_fulfillment(sessions, status="pending", cj_order_id=None, cj_status=None)
    failed = await stored_fulfillment(sessions, status="failed", status_reason="balance")
    await stored_fulfillment(sessions, status="unshipped")
    await stored_fulfillment(sessions, status="shipped")
    await stored_fulfillment(sessions, status="delivered")
    async with sessions.begin() as session:
        session.add(
            WebhookInboxMessage(
                message_id="m-1",
                topic="ORDER",
                raw_body="{}",
                status="applied",
                received_at=NOW - timedelta(hours=3),
            )
        )
        session.add(
            OutboxMessage(
                fulfillment_id=failed.id,
                sink="medusa",
                event_type="failed",
                payload={},
                status="dead",
                attempts=9,
                next_attempt_at=NOW,
            )
        )


def _gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels or None)


async def test_snapshot_reads_what_an_operator_checks_first(
    ops_settings: Settings, resources: Container
) -> None:
    await _busy_store(resources)
    await _store_token(ops_settings, resources, NOW + timedelta(days=10))
    assert resources.redis is not None
    await record_heartbeat(resources.redis, "host-a:41", NOW - timedelta(seconds=3))
    await resources.cj.transport.points.observe(PointsInfo(total=50000, remaining=41230))

    snapshot = await OpsReader(resources.sessionmaker, resources.cj, resources.redis).snapshot(NOW)

    assert snapshot.fulfillments == {
        "pending": 2,
        "failed": 1,
        "unshipped": 1,
        "shipped": 1,
        "delivered": 1,
    }
    assert snapshot.pending_age_seconds == pytest.approx(40 * 60, abs=1)
    assert snapshot.open_fulfillments == 2  # unshipped and shipped: CJ's to report on
    assert snapshot.last_webhook_at == NOW - timedelta(hours=3)
    assert [(b.sink, b.pending, b.dead) for b in snapshot.outbox] == [("medusa", 0, 1)]
    assert snapshot.token.status == "valid"
    assert snapshot.token.access_expires_at == NOW + timedelta(days=10)
    assert snapshot.breaker == "closed"
    assert snapshot.points == PointsInfo(total=50000, remaining=41230)
    assert snapshot.points_exhausted_until is None
    assert [beat.name for beat in snapshot.workers or []] == ["host-a:41"]
    assert attention(snapshot) == [
        "1 failed fulfillment(s): GET /v1/fulfillments?status=failed",
        "an order has waited 40 min to reach CJ",
        "1 dead notification(s): `cj-fulfillment outbox list --status dead`",
    ]


async def test_gauges_follow_the_snapshot(ops_settings: Settings, resources: Container) -> None:
    await _busy_store(resources)
    await _store_token(ops_settings, resources, NOW + timedelta(hours=5))
    snapshot = await OpsReader(resources.sessionmaker, resources.cj, resources.redis).snapshot(NOW)

    publish_gauges(snapshot)

    assert _gauge("fulfillments_by_status", status="pending") == 2
    assert _gauge("fulfillments_by_status", status="cancelled") == 0
    assert _gauge("fulfillment_oldest_pending_age_seconds") == pytest.approx(2400, abs=1)
    assert _gauge("cj_webhook_last_received_timestamp_seconds") == (
        (NOW - timedelta(hours=3)).timestamp()
    )
    assert _gauge("cj_token_expires_timestamp_seconds", token="access") == (
        (NOW + timedelta(hours=5)).timestamp()
    )
    # 5 hours left although it is renewed a day ahead: renewal is failing.
    assert "CJ token refresh_due: check with `cj-fulfillment cj token --refresh`" in (
        attention(snapshot)
    )


async def test_a_quiet_healthy_store_needs_no_attention(
    ops_settings: Settings, resources: Container
) -> None:
    await stored_fulfillment(resources.sessionmaker, status="delivered")
    await _store_token(ops_settings, resources, NOW + timedelta(days=10))
    assert resources.redis is not None
    await record_heartbeat(resources.redis, "host-a:41", NOW)

    snapshot = await OpsReader(resources.sessionmaker, resources.cj, resources.redis).snapshot(NOW)

    assert attention(snapshot) == []
    publish_gauges(snapshot)
    assert _gauge("fulfillment_oldest_pending_age_seconds") == 0


async def test_no_heartbeat_and_points_gone_need_attention(
    ops_settings: Settings, resources: Container
) -> None:
    await _store_token(ops_settings, resources, NOW + timedelta(days=10))
    until = datetime.now(UTC) + timedelta(hours=2)
    await resources.cj.transport.points.exhausted(until)

    snapshot = await OpsReader(resources.sessionmaker, resources.cj, resources.redis).snapshot(NOW)

    assert snapshot.workers == []
    assert snapshot.points_exhausted_until == until
    assert attention(snapshot)[0] == "no worker heartbeat: start `python -m app.workers`"
    assert any(line.startswith("CJ API points used up until") for line in attention(snapshot))
    assert _gauge("cj_points_exhausted") == 1


async def test_status_prints_one_screen_and_fails_when_something_needs_attention(
    ops_settings: Settings,
    resources: Container,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _busy_store(resources)
    await _store_token(ops_settings, resources, datetime.now(UTC) + timedelta(days=10))
    monkeypatch.setenv("DATABASE_URL", ops_settings.database_url)
    monkeypatch.setenv("REDIS_URL", ops_settings.redis_url)
    monkeypatch.setenv("CJ_API_KEY", CJ_KEY)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "test-encryption-passphrase")
    get_settings.cache_clear()
    try:
        code = await asyncio.to_thread(cli, ["status"])
    finally:
        get_settings.cache_clear()
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert len(lines) <= 24, "one screen"
    fields = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines[1:]}
    assert fields["worker"] == "none alive"
    assert fields["cj token"].startswith("valid, expires ")
    assert fields["cj breaker"] == "closed"
    assert fields["pending"].startswith("2 (oldest since ")
    assert fields["failed"] == "1"
    assert fields["open at CJ"] == "2 (shipped 1, delivered 1, cancelled 0)"
    assert fields["outbox"] == "medusa: 0 pending, 1 dead"
    assert fields["last webhook"].endswith("ago")
    assert "attention:     no worker heartbeat: start `python -m app.workers`" in lines
