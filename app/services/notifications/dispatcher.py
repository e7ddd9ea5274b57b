"""Delivering the outbox: claim what is due, send it, record the outcome.

Each batch is claimed in one short transaction that pushes the rows' `next_attempt_at`
to a lease and counts the attempt; the sinks are called with no transaction open; each
outcome is recorded in its own transaction. Several dispatchers (threads, processes,
hosts) can run at once: a row is claimed by one of them at a time, so it is sent once
in normal operation. A crash between sending and recording sends it again once the
lease has run out, so sinks must tolerate a repeat (they do: the webhook carries a
stable `webhook-id`, and Medusa's "already" answers count as done).

A sink that is down (no answer, a 502/503/504, our credentials refused:
`DeliveryError.sink_down`; or a 500 for `SERVER_ERRORS_TO_PAUSE` different messages in a
row, since one 500 may be that message's alone) is paused as a whole instead of being
tried once per message: while paused none of its messages is claimed (none burns an
attempt), then one message probes it; a success, or any answer that is the message's own
failure, resumes it, a failure pauses it again for longer (30 s, 60 s … up to
`RetryPolicy.pause_max`), and a probe that finds nothing due ends the pause. The pause is
this process's: several dispatchers each probe on their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import RetryCallState, Retrying, wait_exponential, wait_random
from tenacity.wait import wait_base

from app.core.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_DEAD_LETTERS,
    OUTBOX_DELIVERIES,
    OUTBOX_OLDEST_AGE,
    OUTBOX_SINK_PAUSED,
)
from app.db.repositories.outbox_messages import ClaimedMessage, OutboxRepository
from app.services.backoff import retry_delay
from app.sinks.base import Delivery, DeliveryError, DeliveryOutcome, Sink
from app.sinks.catalogue_event import is_catalogue_event
from app.sinks.notification import NotificationEvent
from app.sinks.ops_alert import is_ops_alert

log = structlog.get_logger(__name__)

_RETRYING = Retrying()  # tenacity computes waits from a call state, which needs an owner


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again, and when to give up.

    The wait grows 30 s, 60 s, 120 s … up to an hour, plus up to 30 s of jitter so
    messages that failed together (a receiver outage) do not all come back together.
    A message is given up (`dead`) at its first failure `give_up_after` its creation;
    the last retry is moved up to that moment. A sink that is down is paused
    `pause_initial` seconds, doubling with each failed probe up to `pause_max`, with up to
    `pause_initial` of jitter.
    """

    wait: wait_base = field(
        default_factory=lambda: wait_exponential(multiplier=30, max=3600) + wait_random(0, 30)
    )
    give_up_after: timedelta = timedelta(days=3)
    lease: timedelta = timedelta(minutes=5)
    pause_initial: float = 30.0
    pause_max: timedelta = timedelta(minutes=5)

    @classmethod
    def starting_at(cls, seconds: float) -> RetryPolicy:
        """Waits of `seconds`, doubling up to an hour, plus up to `seconds` of jitter; sink
        pauses from `seconds` too."""
        return cls(
            wait=wait_exponential(multiplier=seconds, max=3600) + wait_random(0, seconds),
            pause_initial=seconds,
        )

    def pause(self, failures: int) -> timedelta:
        """How long a sink stays paused after `failures` failed attempts in a row."""
        seconds = retry_delay(
            failures, initial=self.pause_initial, maximum=self.pause_max.total_seconds()
        )
        return timedelta(seconds=seconds)

    def delay(self, attempt: int) -> timedelta:
        """The wait after the `attempt`-th failed attempt (1 = the first)."""
        state = RetryCallState(_RETRYING, None, (), {})
        state.attempt_number = attempt
        return timedelta(seconds=self.wait(state))


class _NoAnswer(DeliveryError):
    """A failure before or inside the sink's code, not the sink's answer: says nothing
    about whether the sink is up."""


@dataclass
class DeliveryReport:
    """What one `deliver_due` call did; `claimed == limit` means more may be due.

    `held`: claimed, then put back untried, their sink paused by another message of the
    batch meanwhile.
    """

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    held: int = 0


@dataclass
class SinkPause:
    """A sink found down: not tried before `until`; `failures` failed attempts in a row."""

    failures: int
    until: datetime
    since: datetime


SERVER_ERRORS_TO_PAUSE = 3


class OutboxDispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sinks: Iterable[Sink],
        *,
        policy: RetryPolicy | None = None,
        concurrency: int = 8,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sinks = {sink.name: sink for sink in sinks}
        self._policy = policy or RetryPolicy()
        self._concurrency = concurrency
        self._pauses: dict[str, SinkPause] = {}
        # Per sink: the messages that got a 500 since it last answered otherwise.
        self._server_errors: dict[str, set[int]] = {}

    @property
    def sinks(self) -> list[str]:
        return sorted(self._sinks)

    def paused_until(self, sink: str) -> datetime | None:
        """When the paused `sink` is probed next; None when it is not paused."""
        pause = self._pauses.get(sink)
        return pause.until if pause else None

    async def aclose(self) -> None:
        for sink in self._sinks.values():
            await sink.aclose()

    async def deliver_due(self, now: datetime | None = None, limit: int = 50) -> DeliveryReport:
        """Send up to `limit` due messages of the configured sinks and record each outcome.

        A message waits while an older pending one of the same fulfillment and sink
        exists, so a `delivered` never overtakes its `shipped`. A paused sink has none of
        its messages claimed until its pause is over, then one (the probe). Also
        refreshes the backlog gauges.
        """
        now = now or datetime.now(UTC)
        open_sinks = [name for name in self._sinks if name not in self._pauses]
        probed = [name for name, pause in self._pauses.items() if pause.until <= now]
        lease_until = now + self._policy.lease
        claimed: list[ClaimedMessage] = []
        if open_sinks or probed:
            async with self._sessionmaker.begin() as session:
                repository = OutboxRepository(session)
                if open_sinks:
                    claimed += await repository.claim_due(
                        now=now, sinks=open_sinks, limit=limit, lease_until=lease_until
                    )
                for sink in probed:
                    claimed += await repository.claim_due(
                        now=now, sinks=[sink], limit=1, lease_until=lease_until
                    )
        for sink in set(probed) - {message.sink for message in claimed}:
            self._resume(sink, now, probe="nothing due")
        report = DeliveryReport(claimed=len(claimed))
        slots = asyncio.Semaphore(self._concurrency)
        held: list[ClaimedMessage] = []

        async def attempt(message: ClaimedMessage) -> str:
            async with slots:
                pause = self._pauses.get(message.sink)
                if pause and pause.until > now:
                    held.append(message)
                    return "held"
                return await self._attempt(message, now)

        for result in await asyncio.gather(*(attempt(message) for message in claimed)):
            if result == "delivered":
                report.delivered += 1
            elif result == "dead":
                report.dead += 1
            elif result == "held":
                report.held += 1
            else:
                report.retried += 1
        if held:
            async with self._sessionmaker.begin() as session:
                await OutboxRepository(session).release(held)
        await self.refresh_metrics(now)
        return report

    async def refresh_metrics(self, now: datetime | None = None) -> None:
        """Set the backlog, oldest-age and dead-letter gauges from the table."""
        now = now or datetime.now(UTC)
        async with self._sessionmaker() as session:
            backlogs = {b.sink: b for b in await OutboxRepository(session).backlog()}
        for sink in sorted(set(self._sinks) | set(backlogs)):
            backlog = backlogs.get(sink)
            pending = backlog.pending if backlog else 0
            oldest = backlog.oldest_pending_at if backlog else None
            OUTBOX_BACKLOG.labels(sink=sink).set(pending)
            OUTBOX_OLDEST_AGE.labels(sink=sink).set(
                max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
            )
            OUTBOX_DEAD_LETTERS.labels(sink=sink).set(backlog.dead if backlog else 0)
            OUTBOX_SINK_PAUSED.labels(sink=sink).set(1 if sink in self._pauses else 0)

    async def _attempt(self, message: ClaimedMessage, now: datetime) -> str:
        """Send one message and record what happened: delivered, retry or dead."""
        try:
            outcome = await self._send(message)
        except DeliveryError as failure:
            return await self._record_failure(message, failure, now)
        self._sink_answered(message.sink, now)
        async with self._sessionmaker.begin() as session:
            await OutboxRepository(session).mark_delivered(message.id, now)
        OUTBOX_DELIVERIES.labels(sink=message.sink, outcome=outcome.value).inc()
        log.info(
            "outbox_delivered",
            sink=message.sink,
            message_id=message.id,
            fulfillment_id=message.fulfillment_id,
            event_type=message.event_type,
            outcome=outcome.value,
            attempts=message.attempts,
        )
        return "delivered"

    async def _send(self, message: ClaimedMessage) -> DeliveryOutcome:
        sink = self._sinks[message.sink]
        try:
            event = message.event_type
            if not (is_ops_alert(event) or is_catalogue_event(event)):
                event = NotificationEvent(event)
            delivery = Delivery(message.id, event, message.payload)
            return await sink.deliver(delivery)
        except (ValueError, ValidationError) as exc:
            # The row itself is unusable (unknown event, payload of another shape).
            raise _NoAnswer(f"unreadable message: {exc}"[:300], permanent=True) from exc
        except DeliveryError:
            raise
        except Exception as exc:
            # A defect in a sink must not stop the dispatcher: retried, and logged in full.
            log.exception("outbox_sink_crashed", sink=message.sink, message_id=message.id)
            raise _NoAnswer(f"sink error: {type(exc).__name__}") from exc

    async def _record_failure(
        self, message: ClaimedMessage, failure: DeliveryError, now: datetime
    ) -> str:
        deadline = message.created_at + self._policy.give_up_after
        dead = failure.permanent or now >= deadline
        retry_at = None if dead else now + self._policy.delay(message.attempts)
        if failure.sink_down or self._server_errors_in_a_row(message, failure):
            paused_until = self._sink_down(message.sink, failure, now)
            retry_at = retry_at and max(retry_at, paused_until)
        elif not (failure.server_error or isinstance(failure, _NoAnswer)):
            self._sink_answered(message.sink, now)
        retry_at = retry_at and min(retry_at, deadline)
        async with self._sessionmaker.begin() as session:
            recorded = await OutboxRepository(session).mark_failed(
                message, failure.reason, retry_at=retry_at
            )
        outcome = "dead" if dead else "auth_error" if failure.auth else "retry"
        OUTBOX_DELIVERIES.labels(sink=message.sink, outcome=outcome).inc()
        (log.error if dead or failure.auth else log.warning)(
            "outbox_dead_letter" if dead else "outbox_delivery_failed",
            sink=message.sink,
            message_id=message.id,
            fulfillment_id=message.fulfillment_id,
            event_type=message.event_type,
            attempts=message.attempts,
            error=failure.reason,
            retry_at=retry_at.isoformat() if retry_at else None,
            recorded=recorded,
        )
        return "dead" if dead else "retry"

    def _server_errors_in_a_row(self, message: ClaimedMessage, failure: DeliveryError) -> bool:
        """A 500 is the sink's when it answers a probe, or when it is the
        `SERVER_ERRORS_TO_PAUSE`th message in a row to get one; else that message's."""
        if not failure.server_error or failure.permanent:
            return False
        if message.sink in self._pauses:
            return True
        failed = self._server_errors.setdefault(message.sink, set())
        failed.add(message.id)
        return len(failed) >= SERVER_ERRORS_TO_PAUSE

    def _sink_down(self, sink: str, failure: DeliveryError, now: datetime) -> datetime:
        """Pause `sink` (longer than its last pause), unless a message of the same batch
        did already: when it is probed next."""
        pause = self._pauses.get(sink)
        if pause and pause.until > now:
            return pause.until
        self._server_errors.pop(sink, None)
        failures = pause.failures + 1 if pause else 1
        until = now + self._policy.pause(failures)
        self._pauses[sink] = SinkPause(failures, until, pause.since if pause else now)
        OUTBOX_SINK_PAUSED.labels(sink=sink).set(1)
        log.warning(
            "outbox_sink_paused",
            sink=sink,
            failures=failures,
            until=until.isoformat(),
            error=failure.reason,
        )
        return until

    def _sink_answered(self, sink: str, now: datetime) -> None:
        """The sink took a message, or refused that message alone: it is up."""
        self._server_errors.pop(sink, None)
        self._resume(sink, now, probe="answered")

    def _resume(self, sink: str, now: datetime, *, probe: str) -> None:
        pause = self._pauses.pop(sink, None)
        if pause is None:
            return
        OUTBOX_SINK_PAUSED.labels(sink=sink).set(0)
        log.info(
            "outbox_sink_resumed",
            sink=sink,
            probe=probe,
            failures=pause.failures,
            down_seconds=round((now - pause.since).total_seconds(), 1),
        )
