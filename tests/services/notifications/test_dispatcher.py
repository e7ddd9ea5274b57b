from __future__ import annotations

import asyncio
import functools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.core.config import LogFormat
from app.core.logging import configure_logging
from app.core.metrics import REGISTRY
from app.db.models import Fulfillment, OutboxMessage
from app.db.repositories.outbox_messages import OutboxRepository
from app.services.notifications import OutboxDispatcher, OutboxWriter, RetryPolicy
from app.services.notifications.dispatcher import SERVER_ERRORS_TO_PAUSE
from app.sinks.medusa import MedusaAdminSink
from app.sinks.notification import NotificationEvent
from app.sinks.webhook import WebhookSink
from tests.fixtures.notifications import DispatcherOf, outbox_rows, queue, stored_fulfillment
from tests.fixtures.receiver import Receiver, running_receiver, unused_port

SECRET = SecretStr("receiver-shared-secret")
WRITER = OutboxWriter({"webhook": WebhookSink.events})


@pytest.fixture
def dispatcher(dispatcher_of: DispatcherOf, receiver: Receiver) -> OutboxDispatcher:
    return dispatcher_of(WebhookSink(f"{receiver.url}/hooks", SECRET))


notify = functools.partial(queue, writer=WRITER)


def received_events(receiver: Receiver) -> list[tuple[str, str]]:
    bodies = [json.loads(request.body) for request in receiver.requests]
    return [(body["data"]["id"], body["type"].removeprefix("fulfillment.")) for body in bodies]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def single_row(sessionmaker: async_sessionmaker[AsyncSession]) -> OutboxMessage:
    [row] = await outbox_rows(sessionmaker)
    return row


async def shipped_and_delivered(
    sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> list[Fulfillment]:
    """`count` stored fulfillments, each with its shipped and delivered queued."""
    fulfillments = [await stored_fulfillment(sessionmaker) for _ in range(count)]
    for fulfillment in fulfillments:
        await notify(
            sessionmaker, fulfillment, NotificationEvent.shipped, NotificationEvent.delivered
        )
    return fulfillments


def assert_each_sent_once(receiver: Receiver, count: int, fulfillments: list[Fulfillment]) -> None:
    """The receiver got `count` messages, none twice, and each of `fulfillments` (from
    `shipped_and_delivered`) its shipped then its delivered."""
    ids = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert len(ids) == count
    assert set(ids.values()) == {1}, "none twice"
    events = received_events(receiver)
    for fulfillment in fulfillments:
        mine = [event for fid, event in events if fid == fulfillment.id]
        assert mine == ["shipped", "delivered"]


class TestDelivery:
    async def test_a_due_message_is_sent_and_marked_delivered(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
        delivered_before = sample("outbox_deliveries_total", sink="webhook", outcome="delivered")

        now = datetime.now(UTC)
        report = await dispatcher.deliver_due(now)

        assert (report.claimed, report.delivered, report.retried, report.dead) == (1, 1, 0, 0)
        row = await single_row(sessionmaker)
        assert (row.status, row.attempts, row.delivered_at, row.last_error) == (
            "delivered",
            1,
            now,
            None,
        )
        assert receiver.paths() == ["/hooks"]
        assert json.loads(receiver.requests[0].body) == row.payload
        assert (await dispatcher.deliver_due()).claimed == 0
        assert len(receiver.requests) == 1
        assert sample("outbox_deliveries_total", sink="webhook", outcome="delivered") == (
            delivered_before + 1
        )
        assert sample("outbox_backlog", sink="webhook") == 0

    async def test_a_call_sends_at_most_limit_messages_oldest_first(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillments = [await stored_fulfillment(sessionmaker) for _ in range(5)]
        for fulfillment in fulfillments:
            await notify(sessionmaker, fulfillment, NotificationEvent.cj_order_created)

        report = await dispatcher.deliver_due(limit=2)

        assert (report.claimed, report.delivered) == (2, 2)
        assert {fid for fid, _ in received_events(receiver)} == {f.id for f in fulfillments[:2]}
        assert (await dispatcher.deliver_due(limit=10)).claimed == 3

    async def test_a_failed_message_is_retried_later_and_later(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
        receiver.respond(503, {"message": "down for maintenance"}, times=3)

        now = datetime.now(UTC)
        delays = []
        for attempt in (1, 2, 3):
            report = await dispatcher.deliver_due(now)
            assert (report.claimed, report.retried) == (1, 1)
            row = await single_row(sessionmaker)
            assert (row.status, row.attempts) == ("pending", attempt)
            assert row.last_error == "HTTP 503: down for maintenance"
            delays.append((row.next_attempt_at - now).total_seconds())
            # Not due before its time.
            assert (
                await dispatcher.deliver_due(row.next_attempt_at - timedelta(seconds=1))
            ).claimed == 0
            now = row.next_attempt_at
        # 30 s, 60 s, 120 s with up to 30 s of jitter each.
        assert 30 <= delays[0] <= 60
        assert 60 <= delays[1] <= 90
        assert 120 <= delays[2] <= 150
        assert sample("outbox_backlog", sink="webhook") == 1
        # Measured at the third attempt, which came after the first two waits.
        assert sample("outbox_oldest_pending_age_seconds", sink="webhook") >= sum(delays[:2])

        report = await dispatcher.deliver_due(now)
        assert report.delivered == 1
        row = await single_row(sessionmaker)
        assert (row.status, row.attempts, row.last_error) == ("delivered", 4, None)
        assert len(receiver.requests) == 4
        # The same event each time: one webhook-id for every attempt.
        assert len({request.headers["webhook-id"] for request in receiver.requests}) == 1

    async def test_a_failure_three_days_after_creation_is_a_dead_letter(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.delivered)
        now = datetime.now(UTC)
        async with sessionmaker.begin() as session:
            await session.execute(
                update(OutboxMessage).values(created_at=now - timedelta(days=3, seconds=1))
            )
        receiver.respond(500, {"message": "still broken"})
        dead_before = sample("outbox_deliveries_total", sink="webhook", outcome="dead")

        report = await dispatcher.deliver_due(now)

        assert (report.claimed, report.dead) == (1, 1)
        row = await single_row(sessionmaker)
        assert (row.status, row.last_error) == ("dead", "HTTP 500: still broken")
        assert sample("outbox_deliveries_total", sink="webhook", outcome="dead") == dead_before + 1
        assert sample("outbox_dead_letters", sink="webhook") == 1
        assert sample("outbox_backlog", sink="webhook") == 0
        assert (await dispatcher.deliver_due(now + timedelta(days=1))).claimed == 0

    async def test_the_last_retry_is_moved_up_to_the_three_days(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.delivered)
        now = datetime.now(UTC)
        created = now - timedelta(days=3) + timedelta(seconds=10)
        async with sessionmaker.begin() as session:
            await session.execute(update(OutboxMessage).values(created_at=created))
        # The message's own failure (a 5xx would pause the whole sink, past the 3 days).
        receiver.respond(400, times=2)

        await dispatcher.deliver_due(now)
        row = await single_row(sessionmaker)
        assert (row.status, row.next_attempt_at) == ("pending", created + timedelta(days=3))

        await dispatcher.deliver_due(row.next_attempt_at)
        assert (await single_row(sessionmaker)).status == "dead"

    async def test_a_message_that_cannot_be_read_is_dead_at_once(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
        async with sessionmaker.begin() as session:
            await session.execute(update(OutboxMessage).values(event_type="teleported"))

        assert (await dispatcher.deliver_due()).dead == 1
        row = await single_row(sessionmaker)
        assert row.status == "dead"
        assert row.last_error is not None
        assert row.last_error.startswith("unreadable message")
        assert receiver.requests == []

    async def test_messages_of_sinks_not_configured_wait(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        medusa_only = OutboxWriter({"medusa": frozenset(NotificationEvent)})
        await notify(sessionmaker, fulfillment, NotificationEvent.shipped, writer=medusa_only)

        assert (await dispatcher.deliver_due()).claimed == 0
        assert (await single_row(sessionmaker)).status == "pending"
        assert sample("outbox_backlog", sink="medusa") == 1


class TestOrder:
    async def test_a_later_change_waits_for_the_earlier_one_of_its_fulfillment(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        first = await stored_fulfillment(sessionmaker)
        other = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, first, NotificationEvent.shipped, NotificationEvent.delivered)
        await notify(sessionmaker, other, NotificationEvent.shipped)
        receiver.respond(500)  # the first request: `first`'s shipped

        now = datetime.now(UTC)
        report = await dispatcher.deliver_due(now)
        # `first`'s delivered is due but waits; `other` is not held up by `first`.
        assert (report.claimed, report.delivered, report.retried) == (2, 1, 1)
        assert received_events(receiver) == [(first.id, "shipped"), (other.id, "shipped")]

        # Still waiting while its shipped is pending, however long it has been due.
        assert (await dispatcher.deliver_due(now + timedelta(seconds=29))).claimed == 0

        later = now + timedelta(minutes=2)
        assert (await dispatcher.deliver_due(later)).delivered == 1
        assert (await dispatcher.deliver_due(later)).delivered == 1
        assert received_events(receiver)[2:] == [(first.id, "shipped"), (first.id, "delivered")]
        assert {row.status for row in await outbox_rows(sessionmaker)} == {"delivered"}

    async def test_a_dead_earlier_change_no_longer_holds_the_later_ones(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(
            sessionmaker, fulfillment, NotificationEvent.shipped, NotificationEvent.delivered
        )
        shipped = (await outbox_rows(sessionmaker))[0]
        async with sessionmaker.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == shipped.id).values(status="dead")
            )
        assert (await dispatcher.deliver_due()).delivered == 1
        assert received_events(receiver) == [(fulfillment.id, "delivered")]


class TestClaims:
    async def test_two_dispatchers_send_each_message_once(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        database_url: str,
    ) -> None:
        fulfillments = await shipped_and_delivered(sessionmaker, 30)
        receiver.delay_seconds = 0.01
        # Each dispatcher with its own engine, as two worker processes would have.
        engines = [create_async_engine(database_url) for _ in range(2)]
        dispatchers = [
            OutboxDispatcher(
                async_sessionmaker(engine, expire_on_commit=False),
                [WebhookSink(f"{receiver.url}/hooks", SECRET)],
            )
            for engine in engines
        ]

        async def drain(dispatcher: OutboxDispatcher) -> int:
            sent = 0
            while True:
                report = await dispatcher.deliver_due(limit=4)
                assert report.claimed <= 4
                sent += report.delivered
                if report.claimed == 0:
                    return sent
                await asyncio.sleep(0)

        try:
            # Rounds until nothing is left (an empty round can race the other's commit).
            totals = [0, 0]
            while any(row.status == "pending" for row in await outbox_rows(sessionmaker)):
                sent = await asyncio.gather(*(drain(d) for d in dispatchers))
                totals = [t + s for t, s in zip(totals, sent, strict=True)]
        finally:
            for dispatcher in dispatchers:
                await dispatcher.aclose()
            for engine in engines:
                await engine.dispose()

        assert_each_sent_once(receiver, 60, fulfillments)
        assert sum(totals) == 60

    async def test_a_claim_whose_dispatcher_died_is_sent_after_the_lease(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
        now = datetime.now(UTC)
        lease = RetryPolicy().lease
        async with sessionmaker.begin() as session:
            [claimed] = await OutboxRepository(session).claim_due(
                now=now, sinks=["webhook"], limit=10, lease_until=now + lease
            )
        # ... and the process that claimed it is gone.

        assert (await dispatcher.deliver_due(now + lease - timedelta(seconds=1))).claimed == 0
        report = await dispatcher.deliver_due(now + lease)
        assert report.delivered == 1
        row = await single_row(sessionmaker)
        assert (row.status, row.attempts) == ("delivered", 2)
        assert claimed.attempts == 1

    async def test_a_stale_claim_cannot_overwrite_a_newer_outcome(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
        now = datetime.now(UTC)
        async with sessionmaker.begin() as session:
            [old] = await OutboxRepository(session).claim_due(
                now=now, sinks=["webhook"], limit=1, lease_until=now
            )
        async with sessionmaker.begin() as session:
            repository = OutboxRepository(session)
            [new] = await repository.claim_due(
                now=now, sinks=["webhook"], limit=1, lease_until=now + timedelta(minutes=5)
            )
            assert await repository.mark_failed(old, "late", retry_at=None) is False
            assert await repository.mark_failed(new, "HTTP 502", retry_at=now) is True
        row = await single_row(sessionmaker)
        assert (row.status, row.attempts, row.last_error) == ("pending", 2, "HTTP 502")


def logged(text: str) -> list[str]:
    return [json.loads(line)["event"] for line in text.splitlines() if line.startswith("{")]


async def total_attempts(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    return sum(row.attempts for row in await outbox_rows(sessionmaker))


class TestSinkDown:
    """A sink that is down is paused as a whole: its messages wait untried, one probes."""

    async def test_new_messages_cost_no_attempt_while_down_and_all_arrive_once_up(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher_of: DispatcherOf,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        port = unused_port()  # the receiver is down: connections are refused
        dispatcher = dispatcher_of(WebhookSink(f"http://127.0.0.1:{port}/hooks", SECRET))
        configure_logging(LogFormat.json)
        capfd.readouterr()
        first = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, first, NotificationEvent.shipped)
        start = datetime.now(UTC)

        report = await dispatcher.deliver_due(start)
        assert (report.claimed, report.retried) == (1, 1)

        # Twenty new messages (ten of them due) while the worker passes every 3 s.
        later = await shipped_and_delivered(sessionmaker, 10)
        for step in range(1, 10):
            report = await dispatcher.deliver_due(start + timedelta(seconds=3 * step))
            assert report.claimed == 0, "a paused sink's messages are not tried"
        assert await total_attempts(sessionmaker) == 1
        paused = dispatcher.paused_until("webhook")
        assert paused is not None
        assert 30 <= (paused - start).total_seconds() <= 60
        assert sample("outbox_sink_paused", sink="webhook") == 1

        # The pause over, one message probes; the receiver still down, a longer pause.
        report = await dispatcher.deliver_due(paused)
        assert (report.claimed, report.retried) == (1, 1)
        again = dispatcher.paused_until("webhook")
        assert again is not None
        assert again - paused >= paused - start
        assert await total_attempts(sessionmaker) == 2
        events = logged(capfd.readouterr().err)
        assert events.count("outbox_sink_paused") == 2, "logged once per pause"
        assert events.count("outbox_delivery_failed") == 2

        async with running_receiver(port) as receiver:
            report = await dispatcher.deliver_due(again)
            assert (report.claimed, report.delivered) == (1, 1)
            assert dispatcher.paused_until("webhook") is None
            assert sample("outbox_sink_paused", sink="webhook") == 0
            now = again
            for _ in range(20):
                pending = [r for r in await outbox_rows(sessionmaker) if r.status == "pending"]
                if not pending:
                    break
                if (await dispatcher.deliver_due(now)).claimed == 0:
                    now = max(row.next_attempt_at for row in pending)
        assert logged(capfd.readouterr().err).count("outbox_sink_resumed") == 1

        rows = await outbox_rows(sessionmaker)
        assert len(rows) == 21
        assert {row.status for row in rows} == {"delivered"}
        assert await total_attempts(sessionmaker) == 21 + 2, "each sent once, plus 2 probes"
        assert_each_sent_once(receiver, 21, later)
        assert [event for fid, event in received_events(receiver) if fid == first.id] == ["shipped"]

    async def test_messages_claimed_with_the_one_that_found_the_sink_down_are_put_back(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher_of: DispatcherOf,
    ) -> None:
        port = unused_port()
        sink = WebhookSink(f"http://127.0.0.1:{port}/hooks", SECRET)
        dispatcher = OutboxDispatcher(sessionmaker, [sink], concurrency=1)
        try:
            for _ in range(5):
                await notify(
                    sessionmaker, await stored_fulfillment(sessionmaker), NotificationEvent.shipped
                )
            before = {row.id: row.next_attempt_at for row in await outbox_rows(sessionmaker)}
            now = datetime.now(UTC)

            report = await dispatcher.deliver_due(now)

            assert (report.claimed, report.retried, report.held) == (5, 1, 4)
            rows = await outbox_rows(sessionmaker)
            assert [row.attempts for row in rows] == [1, 0, 0, 0, 0]
            # Due again when they were due: the usual order once the sink is back.
            assert [row.next_attempt_at for row in rows[1:]] == list(before.values())[1:]
        finally:
            await dispatcher.aclose()

    async def test_the_pause_is_capped(self) -> None:
        policy = RetryPolicy()
        for failures, low in ((1, 30), (2, 60), (3, 120), (4, 240)):
            assert low <= policy.pause(failures).total_seconds() <= min(low + 30, 300)
        assert policy.pause(40) == timedelta(minutes=5)

    async def test_a_message_s_own_failure_does_not_pause_the_sink(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        """A 4xx is that message's: it is retried on its own, the next ones go on."""
        fulfillments = [await stored_fulfillment(sessionmaker) for _ in range(3)]
        for fulfillment in fulfillments:
            await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
        receiver.respond(422, {"message": "no such order here"})

        report = await dispatcher.deliver_due(limit=1)
        assert (report.claimed, report.retried) == (1, 1)
        assert dispatcher.paused_until("webhook") is None
        assert (await dispatcher.deliver_due()).delivered == 2

    async def test_a_500_for_one_message_is_that_message_s_and_the_others_go_on(
        self, sessionmaker: async_sessionmaker[AsyncSession], receiver: Receiver
    ) -> None:
        """A store's bug on one order (500) must not hold every other update back."""
        sink = WebhookSink(f"{receiver.url}/hooks", SECRET)
        dispatcher = OutboxDispatcher(sessionmaker, [sink], concurrency=1)
        try:
            for _ in range(3):
                fulfillment = await stored_fulfillment(sessionmaker)
                await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
            receiver.respond(500, {"message": "cannot read properties of undefined"})

            report = await dispatcher.deliver_due()
            assert (report.retried, report.delivered, report.held) == (1, 2, 0)
            assert dispatcher.paused_until("webhook") is None
        finally:
            await dispatcher.aclose()

    async def test_500s_for_several_messages_in_a_row_pause_the_sink(
        self, sessionmaker: async_sessionmaker[AsyncSession], receiver: Receiver
    ) -> None:
        sink = WebhookSink(f"{receiver.url}/hooks", SECRET)
        dispatcher = OutboxDispatcher(sessionmaker, [sink], concurrency=1)
        try:
            for _ in range(SERVER_ERRORS_TO_PAUSE + 2):
                fulfillment = await stored_fulfillment(sessionmaker)
                await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
            receiver.respond(500, {"message": "broken"}, times=10)

            report = await dispatcher.deliver_due()
            assert (report.retried, report.held) == (SERVER_ERRORS_TO_PAUSE, 2)
            assert dispatcher.paused_until("webhook") is not None
        finally:
            await dispatcher.aclose()

    async def test_a_probe_that_finds_nothing_due_ends_the_pause(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher_of: DispatcherOf,
        receiver: Receiver,
    ) -> None:
        """Another process delivered what waited: the gauge must not say paused for ever."""
        ours = dispatcher_of(WebhookSink(f"{receiver.url}/hooks", SECRET))
        other = dispatcher_of(WebhookSink(f"{receiver.url}/hooks", SECRET))
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
        receiver.respond(503, {"message": "down"})
        assert (await ours.deliver_due()).retried == 1
        paused = ours.paused_until("webhook")
        assert paused is not None
        later = max(paused, (await single_row(sessionmaker)).next_attempt_at)
        assert (await other.deliver_due(later)).delivered == 1

        assert (await ours.deliver_due(later)).claimed == 0
        assert ours.paused_until("webhook") is None
        assert sample("outbox_sink_paused", sink="webhook") == 0

    async def test_a_probe_refused_for_good_is_dead_and_resumes_the_sink(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher_of: DispatcherOf,
        receiver: Receiver,
    ) -> None:
        """Medusa down, then up but refusing the probe's order (404): that one is dead,
        the others are delivered."""
        dispatcher = dispatcher_of(MedusaAdminSink(receiver.url, SecretStr("sk_test")))
        writer = OutboxWriter({"medusa": MedusaAdminSink.events})
        fulfillments = [await stored_fulfillment(sessionmaker) for _ in range(3)]
        for fulfillment in fulfillments:
            await queue(sessionmaker, fulfillment, NotificationEvent.shipped, writer=writer)
        receiver.respond(503, {"message": "down"}, times=2)  # the shipment, then the order
        now = datetime.now(UTC)

        report = await dispatcher.deliver_due(now, limit=1)
        assert (report.claimed, report.retried) == (1, 1)
        paused = dispatcher.paused_until("medusa")
        assert paused is not None

        receiver.respond(404, {"message": "Order was not found"})
        report = await dispatcher.deliver_due(paused)
        assert (report.claimed, report.dead) == (1, 1)
        assert dispatcher.paused_until("medusa") is None
        assert (await dispatcher.deliver_due(paused + timedelta(minutes=2))).delivered == 2
        statuses = sorted(row.status for row in await outbox_rows(sessionmaker))
        assert statuses == ["dead", "delivered", "delivered"]


class TestRetryPolicy:
    def test_waits_grow_to_an_hour_with_jitter(self) -> None:
        policy = RetryPolicy()
        for attempt, low in ((1, 30), (2, 60), (3, 120), (4, 240), (8, 3600), (40, 3600)):
            delay = policy.delay(attempt).total_seconds()
            assert low <= delay <= low + 30
