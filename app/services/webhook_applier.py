"""Applying the CJ webhooks the intake stored, in the worker, a batch per transaction.

A batch is claimed with `FOR UPDATE SKIP LOCKED` (several workers take disjoint batches),
the fulfillments it is about are locked in id order (two batches never deadlock), and the
messages are applied oldest first; a late one still never moves a status back
(services.transitions). The batch, its effects and the messages' new statuses commit
together, so each message's effect happens exactly once.

What a message may do (issue: a `sign` proves integrity only, CJ puts the key, openId,
in the bodies themselves):
- Its effects count only when it is CJ's own word: a valid `sign` and the secret path
  token. Any other is left for the confirmer (services.tracking_readback), which reads the
  order from CJ and applies what CJ says.
- A webhook never sets or replaces a fulfillment's CJ order id: when we do not know it
  yet, the confirmer asks CJ by our orderNumber; once known, it is never replaced.
- ORDERSPLIT maps CJ's split orders to the fulfillment only when it is CJ's own word.
- PRODUCT, VARIANT and STOCK only ask for the stock of the products they name to be read
  from CJ (services.stock_poll), so even an untrusted one changes nothing by itself.

If a batch fails, its messages are applied one per transaction, so one bad message is
retried on its own and dead-lettered with its reason after `max_attempts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.catalogue_webhooks import CATALOGUE_TOPICS, CatalogueHint, hint_of
from app.cj.webhooks import (
    ORDERSPLIT,
    MalformedWebhook,
    OrderSplitMessage,
    params_error,
    read_envelope,
)
from app.core.clock import utcnow
from app.core.metrics import WEBHOOKS
from app.db.models import Fulfillment, FulfillmentParcel, WebhookInboxMessage
from app.db.repositories.catalogue import CatalogueRepository
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.repositories.webhook_inbox import WebhookInboxRepository
from app.db.session import transaction
from app.services.backoff import retry_delay
from app.services.tracking_applier import CJReport, TrackingApplier

log = structlog.get_logger(__name__)

RECEIVED = "received"
AWAITING = "awaiting_confirmation"
MAX_APPLY_ATTEMPTS = 5
RETRY_INITIAL_SECONDS = 2.0
RETRY_MAX_SECONDS = 300.0
UNTRUSTED = "not on the secret path token with a valid sign"
ID_UNKNOWN = "carries a CJ order id we do not know yet: CJ is asked by our orderNumber"


@dataclass
class _Message:
    row: WebhookInboxMessage
    report: CJReport | None = None
    split: OrderSplitMessage | None = None
    error: str | None = None
    hint: CatalogueHint | None = None
    # What becomes of the stored row (status, and the error or why it waits), written
    # once the whole batch is applied: all the rows together, not one per message.
    verdict: tuple[str, str | None] | None = None

    @property
    def trusted(self) -> bool:
        return bool(self.row.signature_valid and self.row.path_token_valid)


class _Targets:
    """The locked fulfillments of a batch, found the way TrackingApplier.find finds one."""

    def __init__(self, fulfillments: Sequence[Fulfillment], parcels: dict[str, str]) -> None:
        self.by_id = {f.id: f for f in fulfillments}
        self.by_number = {f.cj_order_number: f for f in fulfillments}
        self.by_cj_id = {f.cj_order_id: f for f in fulfillments if f.cj_order_id}
        self.parcels = parcels

    def of(self, report: CJReport) -> Fulfillment | None:
        for number in report.order_numbers:
            if number in self.by_number:
                return self.by_number[number]
        if report.cj_order_id is None:
            return None
        found = self.by_cj_id.get(report.cj_order_id)
        owner = self.parcels.get(report.cj_order_id)
        return found or (self.by_id.get(owner) if owner else None)


class WebhookApplier:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        tracking: TrackingApplier,
        *,
        max_attempts: int = MAX_APPLY_ATTEMPTS,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._tracking = tracking
        self._max_attempts = max_attempts

    async def apply_due(self, limit: int = 200) -> int:
        """Apply up to `limit` stored messages; returns how many were settled."""
        try:
            async with transaction(self._sessionmaker) as session:
                rows = await WebhookInboxRepository(session).due(
                    RECEIVED, now=utcnow(), limit=limit
                )
                await self._apply_batch(session, rows)
                return len(rows)
        except Exception as exc:
            log.warning("cj_webhook_batch_failed", error=f"{type(exc).__name__}: {exc}")
        return await self._apply_one_by_one(limit)

    async def _apply_batch(
        self, session: AsyncSession, rows: Sequence[WebhookInboxMessage]
    ) -> None:
        if not rows:
            return
        messages = [_parse(row) for row in rows]
        # One flush for the batch's events and notifications: its commit inserts them
        # together, in the order they were added.
        repository = FulfillmentRepository(session, batch_writes=True)
        reports = [m.report for m in messages if m.report is not None]
        fulfillments = await repository.lock_matching(
            order_numbers=sorted({n for r in reports for n in r.order_numbers}),
            cj_order_ids=sorted({r.cj_order_id for r in reports if r.cj_order_id}),
        )
        targets = _Targets(fulfillments, await repository.parcels([f.id for f in fulfillments]))
        catalogue = CatalogueRepository(session)
        for message in messages:
            if message.hint is not None:
                message.verdict = await _ask_for_stock(catalogue, message.hint)
            else:
                await self._apply(repository, message, targets)
        for message in messages:
            _record_verdict(message)

    async def _apply_one_by_one(self, limit: int) -> int:
        async with self._sessionmaker() as session:
            ids = await WebhookInboxRepository(session).due_ids(RECEIVED, now=utcnow(), limit=limit)
        for inbox_id in ids:
            try:
                async with transaction(self._sessionmaker) as session:
                    row = await WebhookInboxRepository(session).claim(inbox_id, RECEIVED)
                    if row is not None:
                        await self._apply_batch(session, [row])
            except Exception as exc:
                await self._failed(inbox_id, f"{type(exc).__name__}: {exc}")
        return len(ids)

    async def _apply(
        self, repository: FulfillmentRepository, message: _Message, targets: _Targets
    ) -> None:
        fulfillment = targets.of(message.report) if message.report is not None else None
        if message.error is not None:
            message.verdict = ("malformed", message.error)
        elif fulfillment is None:
            message.verdict = ("ignored", "no fulfillment of ours matches this CJ order")
        elif message.split is not None and not message.trusted:
            why = f"an ORDERSPLIT counts only as CJ's own word: {UNTRUSTED}"
            message.verdict = ("ignored", why)
        elif message.split is not None:
            await self._map_split(repository, fulfillment, message.split, targets)
            message.verdict = ("applied", None)
        elif not message.trusted:
            message.verdict = (AWAITING, f"{UNTRUSTED}: CJ is asked first")
        else:
            await self._apply_report(repository, message, fulfillment, targets)

    async def _apply_report(
        self,
        repository: FulfillmentRepository,
        message: _Message,
        fulfillment: Fulfillment,
        targets: _Targets,
    ) -> None:
        row, report = message.row, message.report
        assert report is not None
        if report.cj_order_id is not None and fulfillment.cj_order_id is None:
            message.verdict = (AWAITING, ID_UNKNOWN)
            return
        if report.cj_order_id not in (None, fulfillment.cj_order_id) and not _is_parcel(
            report, fulfillment, targets
        ):
            log.warning(
                "cj_webhook_other_cj_order_id",
                fulfillment_id=fulfillment.id,
                inbox_id=row.id,
                claimed=report.cj_order_id,
            )
        await self._tracking.record(
            repository, fulfillment, replace(report, cj_order_id=None), source="webhook"
        )
        message.verdict = ("applied", None)

    @staticmethod
    async def _map_split(
        repository: FulfillmentRepository,
        fulfillment: Fulfillment,
        split: OrderSplitMessage,
        targets: _Targets,
    ) -> None:
        added = []
        for order in split.split_orders:
            owner = targets.parcels.get(order.order_code)
            if owner is not None:
                if owner != fulfillment.id:
                    log.warning("cj_split_parcel_taken", parcel=order.order_code, owner=owner)
                continue
            if order.order_code == fulfillment.cj_order_id:
                continue
            status = None if order.order_status is None else str(order.order_status)
            await repository.add_parcel(
                FulfillmentParcel(
                    fulfillment_id=fulfillment.id, cj_order_id=order.order_code, cj_status=status
                )
            )
            targets.parcels[order.order_code] = fulfillment.id
            added.append(order.order_code)
        log.info("cj_order_split", fulfillment_id=fulfillment.id, parcels=added)

    async def _failed(self, inbox_id: int, error: str) -> None:
        """A message that failed on its own: retried later, dead after `max_attempts`."""
        async with transaction(self._sessionmaker) as session:
            row = await session.get(WebhookInboxMessage, inbox_id)
            if row is None or row.status != RECEIVED:
                return
            row.attempts += 1
            row.error = error
            if row.attempts >= self._max_attempts:
                _settle(row, "dead", f"gave up after {row.attempts} attempts: {error}")
                log.error("cj_webhook_dead", inbox_id=inbox_id, error=error)
                return
            delay = retry_delay(
                row.attempts, initial=RETRY_INITIAL_SECONDS, maximum=RETRY_MAX_SECONDS
            )
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        log.warning("cj_webhook_apply_failed", inbox_id=inbox_id, error=error, retry_in_s=delay)


def _parse(row: WebhookInboxMessage) -> _Message:
    try:
        envelope = read_envelope(row.raw_body)
    except MalformedWebhook as exc:
        return _Message(row, error=str(exc))
    try:
        if envelope.type.upper() in CATALOGUE_TOPICS:
            return _Message(row, hint=hint_of(envelope))
        if envelope.type.upper() == ORDERSPLIT:
            split = OrderSplitMessage.model_validate(envelope.params)
            return _Message(row, report=CJReport(cj_order_id=split.original_order_id), split=split)
        report = TrackingApplier.report_of(envelope)
    except ValidationError as exc:
        return _Message(row, error=params_error(exc))
    except MalformedWebhook as exc:
        return _Message(row, error=str(exc))
    if report is None:
        return _Message(row, error=f"topic {envelope.type} is not applied")
    return _Message(row, report=report)


async def _ask_for_stock(
    catalogue: CatalogueRepository, hint: CatalogueHint
) -> tuple[str, str | None]:
    """A PRODUCT, VARIANT or STOCK callback: the products it names are read from CJ soon
    (the stock loop), whoever sent it; nothing is taken from the message itself. Returns
    the message's verdict."""
    keys = await catalogue.refresh_keys(hint.vids, hint.pids)
    if not keys:
        return ("ignored", "names no product or variant of ours")
    await catalogue.request_refresh(keys)
    return ("applied", None)


def _is_parcel(report: CJReport, fulfillment: Fulfillment, targets: _Targets) -> bool:
    return report.cj_order_id is not None and (
        targets.parcels.get(report.cj_order_id) == fulfillment.id
    )


def _record_verdict(message: _Message) -> None:
    assert message.verdict is not None
    status, text = message.verdict
    if status == AWAITING:
        _await_confirmation(message.row, text or "")
    else:
        _settle(message.row, status, text)


def _settle(row: WebhookInboxMessage, status: str, error: str | None = None) -> None:
    row.status = status
    row.error = error
    row.processed_at = utcnow()
    WEBHOOKS.labels(topic=row.topic or "unknown", outcome=status).inc()


def _await_confirmation(row: WebhookInboxMessage, why: str) -> None:
    row.status = AWAITING
    row.next_attempt_at = utcnow()
    WEBHOOKS.labels(topic=row.topic or "unknown", outcome=AWAITING).inc()
    log.info("cj_webhook_awaiting_confirmation", inbox_id=row.id, reason=why)
