"""What CJ says about an order, applied to its fulfillment: status, CJ id, tracking.

Reports come from trusted webhooks (services.webhook_applier), from webhooks confirmed by
reading the order back, and from the poller; all go through `record`, under the row's
lock. The rules: status only moves forward (services.transitions), a null never
overwrites a known value, a CJ order id once known is never replaced, a tracking number
is added once, CJ's ids stay strings, and what is stored per fulfillment is bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import structlog

from app.cj.models import OrderDetail, TrackInfo
from app.cj.webhooks import (
    DELIVERED_TRACKING_STATUS,
    EXCEPTION_TRACKING_STATUS,
    IN_TRANSIT_TRACKING_STATUSES,
    LOGISTIC,
    ORDER,
    RETURNED_TRACKING_STATUS,
    LogisticMessage,
    OrderMessage,
    TrackEvent,
    WebhookEnvelope,
)
from app.core.clock import utcnow
from app.db.models import Fulfillment
from app.db.repositories.fulfillments import FulfillmentRepository
from app.services.statuses import Status, can_move, from_cj
from app.services.transitions import StatusChanges
from app.sinks.notification import NotificationEvent

log = structlog.get_logger(__name__)

# Bounds on what one fulfillment stores, whatever CJ (or anyone) sends: the newest scan
# events are kept, and tracking numbers past the cap are not added.
MAX_TRACK_EVENTS = 100
MAX_TRACKING_NUMBERS = 20
MAX_EVENT_TEXT = 255

# LOGISTIC trackingStatus codes that are news for the store but no status of ours: the
# parcel has a problem (13) or went back to the sender (14). CJ decides what follows.
PROBLEMS = {
    EXCEPTION_TRACKING_STATUS: ("exception", NotificationEvent.tracking_exception),
    RETURNED_TRACKING_STATUS: ("returned", NotificationEvent.returned),
}


@dataclass(frozen=True)
class TrackingNumber:
    number: str
    carrier: str | None = None
    url: str | None = None
    last_mile_number: str | None = None  # trackInfo's lastTrackNumber, the local carrier's

    def with_last_mile(self, info: TrackInfo) -> TrackingNumber:
        """trackInfo's last-mile carrier fills in an unknown carrier (what the store shows)."""
        last = (info.last_track_number or "").strip() or None
        return replace(
            self,
            carrier=self.carrier or (info.last_mile_carrier or "").strip()[:128] or None,
            last_mile_number=self.last_mile_number or (last[:128] if last else None),
        )


@dataclass(frozen=True)
class CJReport:
    """What one source says about one CJ order; None means "not said"."""

    status: Status | None = None
    cj_status: str | None = None
    cj_order_id: str | None = None
    logistic_name: str | None = None
    tracking: TrackingNumber | None = None
    tracking_status: int | None = None  # LOGISTIC's trackingStatus, for 13 and 14
    events: Sequence[TrackEvent] = field(default_factory=tuple)
    order_numbers: tuple[str, ...] = ()  # ours (CJ's orderNumber), to find the fulfillment

    @classmethod
    def of_order_message(cls, message: OrderMessage) -> CJReport:
        return cls(
            status=from_cj(message.order_status) if message.order_status else None,
            cj_status=message.order_status,
            cj_order_id=message.cj_order_id,
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
            tracking_status=message.tracking_status,
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

    @staticmethod
    def report_of(envelope: WebhookEnvelope) -> CJReport | None:
        """What an ORDER or LOGISTIC message says (None for other topics); raises
        pydantic's ValidationError when its params are not what CJ sends."""
        topic = envelope.type.upper()
        if topic == ORDER:
            return CJReport.of_order_message(OrderMessage.model_validate(envelope.params))
        if topic == LOGISTIC:
            return CJReport.of_logistic_message(LogisticMessage.model_validate(envelope.params))
        return None

    @staticmethod
    async def find(
        repository: FulfillmentRepository, report: CJReport, *, for_update: bool
    ) -> Fulfillment | None:
        """The fulfillment a report is about: by our order number, else by the CJ order id
        CJ gave us (or a parcel CJ split it into)."""
        for number in report.order_numbers:
            found = await repository.by_order_number(number, for_update=for_update)
            if found is not None:
                return found
        if report.cj_order_id is None:
            return None
        found = await repository.by_cj_order_id(report.cj_order_id, for_update=for_update)
        if found is not None:
            return found
        return await repository.by_parcel(report.cj_order_id, for_update=for_update)

    async def record(
        self,
        repository: FulfillmentRepository,
        fulfillment: Fulfillment,
        report: CJReport,
        *,
        source: str,
    ) -> list[str]:
        """Apply `report` to the (locked) fulfillment; returns what changed, by name."""
        # First: a flush below (an event, a notification) then writes the row once. The
        # row's updated_at is set here, as its onupdate would at that flush, so a
        # notification's snapshot needs no flush to carry it (a batch of the webhook
        # applier flushes once).
        fulfillment.last_synced_at = fulfillment.updated_at = utcnow()
        changed: list[str] = []
        if report.cj_order_id and fulfillment.cj_order_id is None:
            # Callers pass CJ's own word here (an answer to our call, or a confirmed claim).
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
        if await self._record_problem(repository, fulfillment, report, source=source):
            changed.append("tracking_problem")
        if report.status is not None and await self._changes.move(
            repository,
            fulfillment,
            report.status,
            source=source,
            detail={"cj_status": report.cj_status} if report.cj_status else None,
        ):
            changed.append("status")
        if changed:
            log.info(
                "fulfillment_cj_report_applied",
                fulfillment_id=fulfillment.id,
                source=source,
                changed=changed,
            )
        return changed

    async def _record_problem(
        self,
        repository: FulfillmentRepository,
        fulfillment: Fulfillment,
        report: CJReport,
        *,
        source: str,
    ) -> bool:
        """A parcel's exception or return, once per number and kind: the number's `problem`,
        an event (its status unchanged) and the store's notification."""
        if report.tracking is None or report.tracking_status not in PROBLEMS:
            return False
        problem, event = PROBLEMS[report.tracking_status]
        known = [dict(entry) for entry in fulfillment.tracking or []]
        entry = next((e for e in known if e.get("number") == report.tracking.number), None)
        if entry is None or entry.get("problem") == problem:
            return False
        entry["problem"] = problem
        fulfillment.tracking = known
        await self._changes.annotate(
            repository,
            fulfillment,
            source=source,
            detail={
                "tracking_number": report.tracking.number,
                "tracking_status": report.tracking_status,
                "problem": problem,
            },
            event=event,
        )
        return True


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
            if tracking.last_mile_number and not entry.get("last_mile_number"):
                entry["last_mile_number"] = tracking.last_mile_number
            if entry == before:
                return None
            fulfillment.tracking = known  # a new list: SQLAlchemy sees the change
            return "filled"
    if len(known) >= MAX_TRACKING_NUMBERS:
        log.warning("tracking_numbers_capped", fulfillment_id=fulfillment.id)
        return None
    entry = {"number": tracking.number, "carrier": tracking.carrier, "url": tracking.url}
    if tracking.last_mile_number:
        entry["last_mile_number"] = tracking.last_mile_number
    known.append(entry)
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
            "at": _text(event.event_time),
            "status": _text(event.status) if isinstance(event.status, str) else event.status,
            "activity": _text(event.activity or event.status_desc),
            "location": _text(event.location),
        }
        if _event_key(entry) not in seen:
            seen.add(_event_key(entry))
            known.append(entry)
            added = True
    if added:
        fulfillment.tracking_events = known[-MAX_TRACK_EVENTS:]
    return added


def _text(value: str | None) -> str | None:
    return (value or "").strip()[:MAX_EVENT_TEXT] or None
