"""Ops alerts end to end on Postgres: incidents decided from snapshots, queued in the
outbox, delivered by the real dispatcher to a local server that checks each chat
platform's payload. One message per incident and one resolution, never a flood."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.chat_targets import parse_target
from app.db.models import FulfillmentEvent
from app.services.notifications import OutboxDispatcher, OutboxWriter, RetryPolicy
from app.services.operations import OpsSnapshot, TokenReport
from app.services.ops_alerts import OpsAlerter, default_rules
from app.sinks.chat import ChatSink
from tests.fixtures.chat_platforms import ChatPlatforms
from tests.fixtures.notifications import outbox_rows, stored_fulfillment
from tests.sinks.test_chat import target_urls

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PLATFORMS = ("discord", "slack", "telegram", "json")


def snapshot(at: datetime, *, breaker: str = "closed", **changes: object) -> OpsSnapshot:
    values: dict[str, object] = {
        "taken_at": at,
        "fulfillments": {},
        "oldest_pending_at": None,
        "outbox": [],
        "last_webhook_at": None,
        "token": TokenReport("valid", at + timedelta(days=10), at + timedelta(days=100)),
        "breaker": breaker,
        "points_exhausted_until": None,
        "points": None,
        "workers": [],
    }
    values.update(changes)
    return OpsSnapshot(**values)  # type: ignore[arg-type]


@pytest.fixture
async def sinks(chat_platforms: ChatPlatforms) -> AsyncIterator[list[ChatSink]]:
    built = [ChatSink(parse_target(url)) for url in target_urls(chat_platforms.url).values()]
    yield built
    for sink in built:
        await sink.aclose()


def alerter(sessionmaker: async_sessionmaker[AsyncSession], sinks: list[ChatSink]) -> OpsAlerter:
    return OpsAlerter(sessionmaker, [sink.name for sink in sinks], default_rules(5))


async def deliver_all(
    sessionmaker: async_sessionmaker[AsyncSession], sinks: list[ChatSink], at: datetime
) -> None:
    dispatcher = OutboxDispatcher(sessionmaker, sinks, policy=RetryPolicy.starting_at(1))
    await dispatcher.deliver_due(now=at)


def headlines(chat_platforms: ChatPlatforms, platform: str) -> list[str]:
    accepted = chat_platforms.accepted[platform]
    if platform == "discord":
        return [body["content"] for body in accepted]
    if platform == "json":
        return [f"{body['state']}: {body['incident']}" for body in accepted]
    return [body["text"].splitlines()[0] for body in accepted]


async def test_an_outage_sends_one_message_and_one_resolution_to_every_platform(
    sessionmaker: async_sessionmaker[AsyncSession],
    sinks: list[ChatSink],
    chat_platforms: ChatPlatforms,
) -> None:
    ops = alerter(sessionmaker, sinks)
    # CJ down for 20 minutes, flapping in the middle (closed for a minute), checked every 15 s.
    minute = timedelta(minutes=1)
    timeline = [(T0 + n * minute / 4, "open") for n in range(40)]
    timeline += [(T0 + 10 * minute + n * minute / 4, "closed") for n in range(4)]
    timeline += [(T0 + 11 * minute + n * minute / 4, "half_open") for n in range(36)]
    timeline += [(T0 + 20 * minute + n * minute / 4, "closed") for n in range(40)]
    queued = []
    for at, state in timeline:
        queued += await ops.evaluate(snapshot(at, breaker=state), now=at)
        await deliver_all(sessionmaker, sinks, at)

    assert [(a.incident, a.state.value) for a in queued] == [
        ("cj_unreachable", "firing"),
        ("cj_unreachable", "resolved"),
    ]
    assert queued[0].timestamp == T0 + timedelta(minutes=5), "fires after 5 minutes down"
    assert queued[1].timestamp == T0 + timedelta(minutes=25), "resolves after 5 minutes up"
    assert chat_platforms.refused == []
    for platform in ("discord", "slack", "telegram"):
        assert (
            headlines(chat_platforms, platform)
            == [
                "[FIRING] CJ is unreachable",
                "[RESOLVED] CJ answers again",
            ]
            if platform != "slack"
            else [
                "*[FIRING] CJ is unreachable*",
                "*[RESOLVED] CJ answers again*",
            ]
        )
    assert headlines(chat_platforms, "json") == [
        "firing: cj_unreachable",
        "resolved: cj_unreachable",
    ]


async def test_a_short_blip_sends_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], sinks: list[ChatSink]
) -> None:
    ops = alerter(sessionmaker, sinks)
    for n in range(12):  # 3 minutes open, then closed for 10
        assert await ops.evaluate(snapshot(T0 + n * timedelta(seconds=15), breaker="open")) == []
    for n in range(40):
        at = T0 + timedelta(minutes=3) + n * timedelta(seconds=15)
        assert await ops.evaluate(snapshot(at), now=at) == []
    assert await outbox_rows(sessionmaker) == []


async def test_a_restarted_or_second_worker_does_not_announce_again(
    sessionmaker: async_sessionmaker[AsyncSession], sinks: list[ChatSink]
) -> None:
    first = alerter(sessionmaker, sinks)
    for minutes in (0, 6):
        at = T0 + timedelta(minutes=minutes)
        await first.evaluate(snapshot(at, breaker="open"), now=at)
    assert len(await outbox_rows(sessionmaker)) == len(PLATFORMS)

    # Two fresh workers (a restart, a second replica) see the same outage at once.
    others = [alerter(sessionmaker, sinks) for _ in range(2)]
    for minutes in (7, 13):
        at = T0 + timedelta(minutes=minutes)
        await asyncio.gather(*(o.evaluate(snapshot(at, breaker="open"), now=at) for o in others))
    assert len(await outbox_rows(sessionmaker)) == len(PLATFORMS), "no second firing"

    for minutes in (14, 20):
        at = T0 + timedelta(minutes=minutes)
        await asyncio.gather(*(o.evaluate(snapshot(at), now=at) for o in others))
    rows = await outbox_rows(sessionmaker)
    assert len(rows) == 2 * len(PLATFORMS), "one resolution, not one per worker"
    assert {row.event_type for row in rows} == {
        "ops_alert:cj_unreachable:firing",
        "ops_alert:cj_unreachable:resolved",
    }


async def test_a_resolution_never_overtakes_its_firing(
    sessionmaker: async_sessionmaker[AsyncSession],
    sinks: list[ChatSink],
    chat_platforms: ChatPlatforms,
) -> None:
    ops = alerter(sessionmaker, sinks)
    chat_platforms.fail_next("telegram", 502, {"ok": False}, times=2)
    for minutes in (0, 5):
        at = T0 + timedelta(minutes=minutes)
        await ops.evaluate(snapshot(at, breaker="open"), now=at)
    await deliver_all(sessionmaker, sinks, T0 + timedelta(minutes=5))  # Telegram fails
    for minutes in (6, 11):
        at = T0 + timedelta(minutes=minutes)
        await ops.evaluate(snapshot(at), now=at)
    await deliver_all(sessionmaker, sinks, T0 + timedelta(minutes=11))  # fails again
    assert headlines(chat_platforms, "telegram") == []
    assert len(chat_platforms.accepted["slack"]) == 2, "the others have both"
    await deliver_all(sessionmaker, sinks, T0 + timedelta(hours=2))
    await deliver_all(sessionmaker, sinks, T0 + timedelta(hours=2))
    assert headlines(chat_platforms, "telegram") == [
        "[FIRING] CJ is unreachable",
        "[RESOLVED] CJ answers again",
    ]


async def test_refused_orders_fire_at_once_with_the_reason_and_once_only(
    sessionmaker: async_sessionmaker[AsyncSession],
    sinks: list[ChatSink],
    chat_platforms: ChatPlatforms,
) -> None:
    ops = alerter(sessionmaker, sinks)
    now = datetime.now(UTC)
    for n in range(3):
        await stored_fulfillment(
            sessionmaker,
            status="failed",
            status_reason="CJ refused the order: Balance insufficient",
        )
        queued = await ops.evaluate(snapshot(now), now=now)
        assert len(queued) == (1 if n == 0 else 0), (
            "the second and third refusal are in the same incident"
        )
    await deliver_all(sessionmaker, sinks, now)
    (message,) = chat_platforms.accepted["telegram"]
    assert message["text"].startswith("[FIRING] CJ refused 1 order(s) in the last hour")
    assert "Balance insufficient" in message["text"]


async def test_intercepted_orders_fire_once_with_cjs_reasons(
    sessionmaker: async_sessionmaker[AsyncSession],
    sinks: list[ChatSink],
    chat_platforms: ChatPlatforms,
) -> None:
    ops = alerter(sessionmaker, sinks)
    now = datetime.now(UTC)
    placed = await stored_fulfillment(sessionmaker, status="created")
    async with sessionmaker.begin() as session:  # an order CJ took as it is: no incident
        session.add(
            FulfillmentEvent(fulfillment_id=placed.id, source="api", to_status="created", detail={})
        )
    assert await ops.evaluate(snapshot(now), now=now) == []

    for n in range(2):
        held = await stored_fulfillment(sessionmaker, status="created")
        async with sessionmaker.begin() as session:
            session.add(
                FulfillmentEvent(
                    fulfillment_id=held.id,
                    source="api",
                    to_status="created",
                    detail={"intercepted": f"CJ intercepted the order: reason {n}."},
                )
            )
        queued = await ops.evaluate(snapshot(now), now=now)
        assert [a.incident for a in queued] == (["orders_intercepted"] if n == 0 else [])

    await deliver_all(sessionmaker, sinks, now)
    (message,) = chat_platforms.accepted["telegram"]
    assert message["text"].startswith("[FIRING] CJ intercepted 1 order(s) in the last hour")
    assert "reason 0" in message["text"]
    assert "MyCJ" in message["text"]

    later = now + timedelta(hours=1, minutes=6)
    for at in (later, later + timedelta(minutes=5)):
        queued = await ops.evaluate(snapshot(at), now=at)
    assert [(a.incident, a.state.value) for a in queued] == [("orders_intercepted", "resolved")]


async def test_dead_store_notifications_and_points_gone_are_incidents(
    sessionmaker: async_sessionmaker[AsyncSession],
    sinks: list[ChatSink],
    chat_platforms: ChatPlatforms,
) -> None:
    failed = await stored_fulfillment(sessionmaker, status="shipped")
    writer = OutboxWriter({"medusa": frozenset({"shipped"})})  # type: ignore[arg-type]
    async with sessionmaker.begin() as session:
        (row,) = await writer.enqueue(session, await session.merge(failed), "shipped")
        row.status = "dead"
    ops = alerter(sessionmaker, sinks)
    now = datetime.now(UTC)
    queued = await ops.evaluate(
        snapshot(now, points_exhausted_until=now + timedelta(hours=3)), now=now
    )
    assert sorted(a.incident for a in queued) == ["cj_points", "dead_letters"]
    dead = next(a for a in queued if a.incident == "dead_letters")
    assert dead.title == "1 store notification(s) given up"
    assert "1 to medusa" in dead.text


async def test_chat_sinks_get_no_fulfillment_notifications(
    sessionmaker: async_sessionmaker[AsyncSession], sinks: list[ChatSink]
) -> None:
    writer = OutboxWriter({sink.name: sink.events for sink in sinks})
    fulfillment = await stored_fulfillment(sessionmaker, status="shipped")
    async with sessionmaker.begin() as session:
        assert await writer.enqueue(session, await session.merge(fulfillment), "shipped") == []
