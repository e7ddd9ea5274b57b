"""Reading orders back from CJ: confirming webhooks that are not CJ's own word (see
services.webhook_applier), and polling the fulfillments CJ has been quiet about (webhooks
get lost). A confirmed claim applies what CJ says, never what the message said; CJ is
asked by the order id CJ gave us, or by our orderNumber while we do not know it.

Both run in the worker, never in a request: they spend CJ requests at the lowest
priority, and the poller within a fixed share of the account's QPS (a pacer shared
through Redis, so several workers together stay inside it). No transaction is held open
while CJ is asked: work is claimed in one short transaction, applied in another.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import structlog
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.client import CJClient
from app.cj.errors import CJError, CJNotFound, CJRejected
from app.cj.models import OrderDetail, Priority
from app.cj.webhooks import (
    LOGISTIC,
    LogisticMessage,
    MalformedWebhook,
    WebhookEnvelope,
    params_error,
    read_envelope,
)
from app.core.clock import utcnow
from app.core.metrics import WEBHOOK_INBOX_LAG, WEBHOOKS
from app.db.models import Fulfillment, WebhookInboxMessage
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.repositories.webhook_inbox import WebhookInboxRepository
from app.db.session import transaction
from app.services.backoff import retry_delay
from app.services.statuses import Status
from app.services.tracking_applier import CJReport, TrackingApplier

log = structlog.get_logger(__name__)

AWAITING = "awaiting_confirmation"
RECEIVED = "received"
# A message CJ cannot confirm after this many reads is dead-lettered with the reason.
CONFIRM_MAX_ATTEMPTS = 8
# A claimed message is left alone this long; a worker that dies mid-way is replaced then.
CONFIRM_LEASE = timedelta(seconds=60)
RETRY_INITIAL_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0
POLLED_STATUSES: tuple[str, ...] = tuple(
    s.value
    for s in (Status.created, Status.in_cart, Status.unpaid, Status.unshipped, Status.shipped)
)
PACER_KEY = "tracking:poll:slot"


class PollPacer:
    """At most one poll every `interval` seconds, across every process sharing Redis."""

    def __init__(self, redis: Redis | None, interval: float, key: str = PACER_KEY) -> None:
        self._redis = redis
        self._interval = interval
        self._key = key
        self._next_local = 0.0

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        while stop is None or not stop.is_set():
            if await self._take():
                return
            await asyncio.sleep(min(self._interval, 0.25))

    async def _take(self) -> bool:
        if self._redis is not None:
            try:
                ms = max(int(self._interval * 1000), 1)
                return bool(await self._redis.set(self._key, b"1", nx=True, px=ms))
            except RedisError as exc:
                log.warning("tracking_pacer_redis_failed", error=type(exc).__name__)
        now = time.monotonic()
        if now >= self._next_local:
            self._next_local = now + self._interval
            return True
        return False


class TrackingReadback:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cj: CJClient,
        tracking: TrackingApplier,
        *,
        pacer: PollPacer,
        quiet_seconds: float,
        call_timeout_seconds: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cj = cj
        self._tracking = tracking
        self._pacer = pacer
        self._quiet = timedelta(seconds=quiet_seconds)
        self._timeout = call_timeout_seconds

    # Webhooks that could not be trusted

    async def confirm_due(self, limit: int = 10) -> int:
        """Confirm up to `limit` due messages; returns how many were settled."""
        claimed = await self._claim_messages(limit)
        settled = 0
        for message_id, raw_body, attempts in claimed:
            try:
                settled += await self._confirm(message_id, raw_body, attempts)
            except Exception as exc:  # one bad message never stalls the others
                log.exception("cj_webhook_confirmation_failed", inbox_id=message_id)
                settled += await self._retry_or_dead(
                    message_id, attempts, f"{type(exc).__name__}: {exc}"
                )
        await self._measure_lag()
        return settled

    async def _claim_messages(self, limit: int) -> list[tuple[int, str, int]]:
        now = utcnow()
        async with transaction(self._sessionmaker) as session:
            rows = await WebhookInboxRepository(session).due(AWAITING, now=now, limit=limit)
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = now + CONFIRM_LEASE
            return [(row.id, row.raw_body, row.attempts) for row in rows]

    async def _confirm(self, message_id: int, raw_body: str, attempts: int) -> int:
        try:
            envelope = read_envelope(raw_body)
            claim = TrackingApplier.report_of(envelope)
        except MalformedWebhook as exc:
            await self._settle(message_id, "malformed", str(exc))
            return 1
        except ValidationError as exc:
            await self._settle(message_id, "malformed", params_error(exc))
            return 1
        async with self._sessionmaker() as session:
            repository = FulfillmentRepository(session)
            target = (
                await TrackingApplier.find(repository, claim, for_update=False) if claim else None
            )
            key = (target.cj_order_id or target.cj_order_number) if target else None
            target_id = target.id if target else None
            with_carrier = _with_carrier(target) if target else frozenset()
        if key is None or target_id is None:
            await self._settle(message_id, "ignored", "no fulfillment of ours matches it")
            return 1
        try:
            detail = await self._read(key)
        except CJNotFound:
            await self._settle(message_id, "ignored", "CJ has no such order")
            return 1
        except CJError as exc:
            return await self._retry_or_dead(message_id, attempts, f"{type(exc).__name__}: {exc}")
        confirmed = await self._with_last_mile(CJReport.of_detail(detail), with_carrier)
        report = _confirmed_report(confirmed, envelope)
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            fulfillment = await repository.get_for_update(target_id)
            if fulfillment is not None:
                await self._tracking.record(
                    repository, fulfillment, report, source="webhook_confirmed"
                )
            row = await session.get(WebhookInboxMessage, message_id)
            if row is not None:
                row.status = "applied"
                row.processed_at = utcnow()
                row.error = None
        WEBHOOKS.labels(topic=envelope.type.upper(), outcome="confirmed").inc()
        return 1

    async def _settle(self, message_id: int, status: str, error: str) -> None:
        async with transaction(self._sessionmaker) as session:
            row = await session.get(WebhookInboxMessage, message_id)
            if row is not None:
                row.status = status
                row.error = error
                row.processed_at = utcnow()
        log.info("cj_webhook_settled", inbox_id=message_id, status=status, reason=error)

    async def _retry_or_dead(self, message_id: int, attempts: int, error: str) -> int:
        """Try again later, or, after CONFIRM_MAX_ATTEMPTS, dead-letter it (returns 1)."""
        if attempts >= CONFIRM_MAX_ATTEMPTS:
            await self._settle(message_id, "dead", f"gave up after {attempts} attempts: {error}")
            return 1
        delay = retry_delay(attempts, initial=RETRY_INITIAL_SECONDS, maximum=RETRY_MAX_SECONDS)
        await self._retry_later(message_id, delay, error)
        return 0

    async def _retry_later(self, message_id: int, delay: float, error: str) -> None:
        async with transaction(self._sessionmaker) as session:
            row = await session.get(WebhookInboxMessage, message_id)
            if row is not None:
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                row.error = error
        log.info("cj_webhook_confirmation_deferred", inbox_id=message_id, retry_in_s=delay)

    async def _measure_lag(self) -> None:
        async with self._sessionmaker() as session:
            oldest = await WebhookInboxRepository(session).oldest_received_at([RECEIVED, AWAITING])
        lag = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        WEBHOOK_INBOX_LAG.set(max(lag, 0.0))

    # Fulfillments CJ has been quiet about

    async def poll_due(self, limit: int = 10, stop: asyncio.Event | None = None) -> int:
        """Read back up to `limit` quiet fulfillments, paced; returns how many changed."""
        now = utcnow()
        async with transaction(self._sessionmaker) as session:
            quiet = await FulfillmentRepository(session).claim_quiet(
                statuses=POLLED_STATUSES, quiet_since=now - self._quiet, now=now, limit=limit
            )
            targets = [(f.id, f.cj_order_id or f.cj_order_number, _with_carrier(f)) for f in quiet]
        changed = 0
        for fulfillment_id, key, with_carrier in targets:
            if stop is not None and stop.is_set():
                break
            await self._pacer.wait(stop)
            changed += await self._poll(fulfillment_id, key, with_carrier)
        return changed

    async def _poll(self, fulfillment_id: str, key: str, with_carrier: frozenset[str]) -> int:
        try:
            detail = await self._read(key)
            report = await self._with_last_mile(CJReport.of_detail(detail), with_carrier)
        except CJRejected as exc:
            log.warning("tracking_poll_refused", fulfillment_id=fulfillment_id, error=str(exc))
            return 0
        except CJError as exc:
            log.info("tracking_poll_deferred", fulfillment_id=fulfillment_id, error=str(exc))
            return 0
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            fulfillment = await repository.get_for_update(fulfillment_id)
            if fulfillment is None:
                return 0
            changes = await self._tracking.record(repository, fulfillment, report, source="poller")
        return 1 if changes else 0

    async def _with_last_mile(self, report: CJReport, with_carrier: frozenset[str]) -> CJReport:
        """Ask trackInfo for the last-mile carrier of a number whose carrier we do not
        know (a new number, or one stored without it); CJ down: the report as it is."""
        tracking = report.tracking
        if tracking is None or tracking.carrier or tracking.number in with_carrier:
            return report
        try:
            infos = await self._cj.track_info(
                [tracking.number], deadline=time.monotonic() + self._timeout
            )
        except CJError as exc:
            log.info("tracking_last_mile_deferred", error=str(exc))
            return report
        info = next((i for i in infos if i.tracking_number == tracking.number), None)
        return replace(report, tracking=tracking.with_last_mile(info)) if info else report

    async def _read(self, key: str) -> OrderDetail:
        return await self._cj.get_order_detail(
            key, priority=Priority.polling, deadline=time.monotonic() + self._timeout
        )


def _confirmed_report(confirmed: CJReport, envelope: WebhookEnvelope) -> CJReport:
    """CJ's own answer, plus the message's track events when CJ confirms their number."""
    if envelope.type.upper() != LOGISTIC or confirmed.tracking is None:
        return confirmed
    message = LogisticMessage.model_validate(envelope.params)
    if message.tracking_number != confirmed.tracking.number:
        return confirmed
    return replace(confirmed, events=message.events)


def _with_carrier(fulfillment: Fulfillment) -> frozenset[str]:
    """The fulfillment's tracking numbers whose carrier is known."""
    return frozenset(
        str(entry.get("number")) for entry in fulfillment.tracking or [] if entry.get("carrier")
    )


def pace_interval(cj_qps: Decimal, share: Decimal) -> float:
    """Seconds between polls so that they use at most `share` of the account's QPS."""
    return float(1 / (cj_qps * share))
