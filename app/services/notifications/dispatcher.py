"""Delivering the outbox: claim what is due, send it, record the outcome.

Each batch is claimed in one short transaction that pushes the rows' `next_attempt_at`
to a lease and counts the attempt; the sinks are called with no transaction open; each
outcome is recorded in its own transaction. Several dispatchers (threads, processes,
hosts) can run at once: a row is claimed by one of them at a time, so it is sent once
in normal operation. A crash between sending and recording sends it again once the
lease has run out, so sinks must tolerate a repeat (they do: the webhook carries a
stable `webhook-id`, and Medusa's "already" answers count as done).
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
)
from app.db.repositories.outbox_messages import ClaimedMessage, OutboxRepository
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
    the last retry is moved up to that moment.
    """

    wait: wait_base = field(
        default_factory=lambda: wait_exponential(multiplier=30, max=3600) + wait_random(0, 30)
    )
    give_up_after: timedelta = timedelta(days=3)
    lease: timedelta = timedelta(minutes=5)

    @classmethod
    def starting_at(cls, seconds: float) -> RetryPolicy:
        """Waits of `seconds`, doubling up to an hour, plus up to `seconds` of jitter."""
        return cls(wait=wait_exponential(multiplier=seconds, max=3600) + wait_random(0, seconds))

    def delay(self, attempt: int) -> timedelta:
        """The wait after the `attempt`-th failed attempt (1 = the first)."""
        state = RetryCallState(_RETRYING, None, (), {})
        state.attempt_number = attempt
        return timedelta(seconds=self.wait(state))


@dataclass
class DeliveryReport:
    """What one `deliver_due` call did; `claimed == limit` means more may be due."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0


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

    @property
    def sinks(self) -> list[str]:
        return sorted(self._sinks)

    async def aclose(self) -> None:
        for sink in self._sinks.values():
            await sink.aclose()

    async def deliver_due(self, now: datetime | None = None, limit: int = 50) -> DeliveryReport:
        """Send up to `limit` due messages of the configured sinks and record each outcome.

        A message waits while an older pending one of the same fulfillment and sink
        exists, so a `delivered` never overtakes its `shipped`. Also refreshes the
        backlog gauges.
        """
        now = now or datetime.now(UTC)
        async with self._sessionmaker.begin() as session:
            claimed = await OutboxRepository(session).claim_due(
                now=now,
                sinks=list(self._sinks),
                limit=limit,
                lease_until=now + self._policy.lease,
            )
        report = DeliveryReport(claimed=len(claimed))
        slots = asyncio.Semaphore(self._concurrency)

        async def attempt(message: ClaimedMessage) -> str:
            async with slots:
                return await self._attempt(message, now)

        for result in await asyncio.gather(*(attempt(message) for message in claimed)):
            if result == "delivered":
                report.delivered += 1
            elif result == "dead":
                report.dead += 1
            else:
                report.retried += 1
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

    async def _attempt(self, message: ClaimedMessage, now: datetime) -> str:
        """Send one message and record what happened: delivered, retry or dead."""
        try:
            outcome = await self._send(message)
        except DeliveryError as failure:
            return await self._record_failure(message, failure, now)
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
            raise DeliveryError(f"unreadable message: {exc}"[:300], permanent=True) from exc
        except DeliveryError:
            raise
        except Exception as exc:
            # A defect in a sink must not stop the dispatcher: retried, and logged in full.
            log.exception("outbox_sink_crashed", sink=message.sink, message_id=message.id)
            raise DeliveryError(f"sink error: {type(exc).__name__}") from exc

    async def _record_failure(
        self, message: ClaimedMessage, failure: DeliveryError, now: datetime
    ) -> str:
        deadline = message.created_at + self._policy.give_up_after
        dead = failure.permanent or now >= deadline
        retry_at = None if dead else min(now + self._policy.delay(message.attempts), deadline)
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
