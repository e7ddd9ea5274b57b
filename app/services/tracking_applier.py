"""What CJ says about an order, applied to its fulfillment: status, CJ id, tracking.

Reports come from trusted webhooks, from webhooks confirmed by reading the order back,
and from the poller; all go through `record`, under the row's lock. The rules: status
only moves forward (services.transitions), a null never overwrites a known value, a
tracking number is added once, and CJ's ids stay strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.cj.models import OrderDetail
from app.cj.webhooks import (
    DELIVERED_TRACKING_STATUS,
    IN_TRANSIT_TRACKING_STATUSES,
    LOGISTIC,
    ORDER,
    ORDER_CONNECTED,
    LogisticMessage,
    OrderMessage,
    TrackEvent,
    WebhookEnvelope,
)
from app.core.clock import utcnow
from app.db.models import Fulfillment, WebhookInboxMessage
from app.db.repositories.fulfillments import FulfillmentRepository
from app.services.statuses import Status, can_move, from_cj
from app.services.transitions import StatusChanges
from app.sinks.notification import NotificationEvent

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TrackingNumber:
    number: str
    carrier: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class CJReport:
    """What one source says about one CJ order; None means "not said"."""

    status: Status | None = None
    cj_status: str | None = None
    cj_order_id: str | None = None
    cj_order_id_final: bool = False
    logistic_name: str | None = None
    tracking: TrackingNumber | None = None
    events: Sequence[TrackEvent] = field(default_factory=tuple)
    order_numbers: tuple[str, ...] = ()  # ours (CJ's orderNumber), to find the fulfillment

    @classmethod
    def of_order_message(cls, message: OrderMessage, message_type: str | None) -> CJReport:
        return cls(
            status=from_cj(message.order_status) if message.order_status else None,
            cj_status=message.order_status,
            cj_order_id=message.cj_order_id,
            cj_order_id_final=message_type == ORDER_CONNECTED,
            logistic_name=message.logistic_name,
            tracking=_tracking(
                message.track_number, message.tracking_provider, message.tracking_url
            ),
            order_numbers=(message.our_order_number,) if message.our_order_number else (),
        )

    @classmethod
    def of_logistic_message(cls, message: LogisticMessage) -> CJReport:
        status: Status | None = None
        if message.tracking_status == DELIVERED_TRACKING_STATUS:
            status = Status.delivered
        elif message.tracking_status in IN_TRANSIT_TRACKING_STATUSES and message.tracking_number:
            status = Status.shipped
        return cls(
            status=status,
            cj_order_id=message.order_id,
            logistic_name=message.logistic_name,
            tracking=_tracking(
                message.tracking_number, message.tracking_provider, message.tracking_url
            ),
            events=message.events,
            order_numbers=tuple(message.store_order_numbers),
        )

    @classmethod
    def of_detail(cls, detail: OrderDetail) -> CJReport:
        return cls(
            status=from_cj(detail.order_status) if detail.order_status else None,
            cj_status=detail.order_status,
            cj_order_id=detail.cj_id,
            logistic_name=detail.logistic_name,
            tracking=_tracking(detail.track_number, None, detail.tracking_url),
        )


def _tracking(number: str | None, carrier: str | None, url: str | None) -> TrackingNumber | None:
    return TrackingNumber(number.strip(), carrier, url) if number and number.strip() else None


class TrackingApplier:
    def __init__(self, changes: StatusChanges) -> None:
        self._changes = changes

    async def apply(
        self, session: AsyncSession, row: WebhookInboxMessage, envelope: WebhookEnvelope
    ) -> bool:
        """Apply a trusted ORDER or LOGISTIC message; False when no fulfillment matches."""
        repository = FulfillmentRepository(session)
        report = self.report_of(envelope)
        fulfillment = await self.find(repository, report, for_update=True) if report else None
        if report is None or fulfillment is None:
            return False
        await self.record(repository, fulfillment, report, source="webhook")
        return True

    @staticmethod
    def report_of(envelope: WebhookEnvelope) -> CJReport | None:
        """What an ORDER or LOGISTIC message says (None for other topics)."""
        topic = envelope.type.upper()
        if topic == ORDER:
            order = OrderMessage.model_validate(envelope.params)
            return CJReport.of_order_message(order, envelope.message_type)
        if topic == LOGISTIC:
            return CJReport.of_logistic_message(LogisticMessage.model_validate(envelope.params))
        return None

    @staticmethod
    async def find(
        repository: FulfillmentRepository, report: CJReport, *, for_update: bool
    ) -> Fulfillment | None:
        """The fulfillment a report is about: by our order number, else by CJ's id."""
        for number in report.order_numbers:
            found = await repository.by_order_number(number, for_update=for_update)
            if found is not None:
                return found
        if report.cj_order_id is None:
            return None
        return await repository.by_cj_order_id(report.cj_order_id, for_update=for_update)

    async def record(
        self,
        repository: FulfillmentRepository,
        fulfillment: Fulfillment,
        report: CJReport,
        *,
        source: str,
    ) -> list[str]:
        """Apply `report` to the (locked) fulfillment; returns what changed, by name."""
        changed: list[str] = []
        if report.cj_order_id and (
            fulfillment.cj_order_id is None
            or (report.cj_order_id_final and fulfillment.cj_order_id != report.cj_order_id)
        ):
            fulfillment.cj_order_id = report.cj_order_id
            changed.append("cj_order_id")
        if report.cj_status and report.cj_status != fulfillment.cj_status:
            fulfillment.cj_status = report.cj_status
            changed.append("cj_status")
        if report.logistic_name and report.logistic_name != fulfillment.logistic_name:
            fulfillment.logistic_name = report.logistic_name
            changed.append("logistic_name")
        merged = _merge_tracking(fulfillment, report.tracking) if report.tracking else None
        if merged is not None:
            changed.append("tracking")
        if merged == "added" and not _will_ship(fulfillment, report.status):
            # A new number tells the store something; a status change to shipped carries
            # it already, and a carrier or URL filled in later does not need a message.
            await self._changes.notify(repository, fulfillment, NotificationEvent.tracking_updated)
        if report.events and _merge_events(fulfillment, report.events):
            changed.append("tracking_events")
        if report.status is not None and await self._changes.move(
            repository,
            fulfillment,
            report.status,
            source=source,
            detail={"cj_status": report.cj_status} if report.cj_status else None,
        ):
            changed.append("status")
        fulfillment.last_synced_at = utcnow()
        if changed:
            log.info(
                "fulfillment_cj_report_applied",
                fulfillment_id=fulfillment.id,
                source=source,
                changed=changed,
            )
        return changed


def _will_ship(fulfillment: Fulfillment, status: Status | None) -> bool:
    return status is Status.shipped and can_move(Status(fulfillment.status), status)


def _merge_tracking(
    fulfillment: Fulfillment, tracking: TrackingNumber
) -> Literal["added", "filled"] | None:
    """Add a new number, or fill in a known number's carrier or url (None: nothing new).
    Never clears anything."""
    known: list[dict[str, Any]] = [dict(entry) for entry in fulfillment.tracking or []]
    for entry in known:
        if entry.get("number") == tracking.number:
            before = dict(entry)
            entry["carrier"] = entry.get("carrier") or tracking.carrier
            entry["url"] = entry.get("url") or tracking.url
            if entry == before:
                return None
            fulfillment.tracking = known  # a new list: SQLAlchemy sees the change
            return "filled"
    known.append({"number": tracking.number, "carrier": tracking.carrier, "url": tracking.url})
    fulfillment.tracking = known
    return "added"


def _event_key(event: dict[str, Any]) -> tuple[str, str, str]:
    return (str(event.get("at")), str(event.get("status")), str(event.get("activity")))


def _merge_events(fulfillment: Fulfillment, events: Sequence[TrackEvent]) -> bool:
    known: list[dict[str, Any]] = list(fulfillment.tracking_events or [])
    seen = {_event_key(event) for event in known}
    added = False
    for event in events:
        entry = {
            "at": event.event_time,
            "status": event.status,
            "activity": (event.activity or event.status_desc or "").strip() or None,
            "location": (event.location or "").strip() or None,
        }
        if _event_key(entry) not in seen:
            seen.add(_event_key(entry))
            known.append(entry)
            added = True
    if added:
        fulfillment.tracking_events = known
    return added
