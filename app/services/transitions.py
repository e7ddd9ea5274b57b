"""The one place a fulfillment's status changes.

Every change is checked against the forward-only rules and written together with exactly
one `fulfillment_events` row and with the store's notification (the outbox writer this
collaborator is built with; `notifications.triggers` says which change notifies), all in
the caller's transaction, so no path can skip either. Each service that changes a status
is given a `StatusChanges`; none can change one without it, and a notification that
cannot be written fails the change (and its transaction) instead of being skipped.
"""

from __future__ import annotations

from typing import Any

import structlog

from app.core.clock import utcnow
from app.core.metrics import FULFILLMENT_TRANSITIONS
from app.db.models import Fulfillment, FulfillmentEvent
from app.db.repositories.fulfillments import FulfillmentRepository
from app.services.notifications.triggers import event_for
from app.services.notifications.writer import OutboxWriter
from app.services.statuses import Status, can_move
from app.sinks.notification import NotificationEvent

log = structlog.get_logger(__name__)


class StatusChanges:
    def __init__(self, outbox: OutboxWriter) -> None:
        self._outbox = outbox

    async def move(
        self,
        repository: FulfillmentRepository,
        fulfillment: Fulfillment,
        to_status: Status,
        *,
        source: str,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
        initial: bool = False,
    ) -> bool:
        """Move `fulfillment` to `to_status` if the rules allow it; False when they do not
        (a repeated or late report), in which case nothing is written.

        The caller holds the row (locked, or claimed) in the session of `repository`.
        `initial` records the row's first status (the event's `from` is null).
        """
        current = None if initial else Status(fulfillment.status)
        if current is not None and not can_move(current, to_status):
            return False
        now = utcnow()
        fulfillment.status = to_status.value
        fulfillment.status_reason = reason
        fulfillment.updated_at = now
        await repository.add_event(
            FulfillmentEvent(
                fulfillment_id=fulfillment.id,
                source=source,
                from_status=current.value if current is not None else None,
                to_status=to_status.value,
                detail=detail,
                created_at=now,
            )
        )
        event = event_for(current, to_status)
        if event is not None:
            await self.notify(repository, fulfillment, event, source=source)
        FULFILLMENT_TRANSITIONS.labels(to_status=to_status.value, source=source).inc()
        log.info(
            "fulfillment_status_changed",
            fulfillment_id=fulfillment.id,
            from_status=current.value if current is not None else None,
            to_status=to_status.value,
            source=source,
            reason=reason,
        )
        return True

    async def notify(
        self,
        repository: FulfillmentRepository,
        fulfillment: Fulfillment,
        event: NotificationEvent,
        *,
        source: str | None = None,
    ) -> None:
        """Queue `event` about the (held) fulfillment, in the caller's transaction;
        `source` (what made the change) goes into the payload's `change_source`."""
        await self._outbox.enqueue(
            repository.session,
            fulfillment,
            event,
            source=source,
            flush=not repository.batch_writes,
        )

    async def annotate(
        self,
        repository: FulfillmentRepository,
        fulfillment: Fulfillment,
        *,
        source: str,
        reason: str | None = None,
        detail: dict[str, Any] | None,
        event: NotificationEvent,
    ) -> None:
        """Something the store must hear about that does not change the status (CJ refused
        a refund dispute, the balance cannot pay, a parcel's exception): `status_reason`
        says it when there is a `reason` (a parcel's problem is on its tracking number
        instead), one event records it (from and to the same status) and `event` is
        queued, in the caller's transaction."""
        now = utcnow()
        if reason is not None:
            fulfillment.status_reason = reason
        fulfillment.updated_at = now
        await repository.add_event(
            FulfillmentEvent(
                fulfillment_id=fulfillment.id,
                source=source,
                from_status=fulfillment.status,
                to_status=fulfillment.status,
                detail={**(detail or {}), **({"reason": reason} if reason is not None else {})},
                created_at=now,
            )
        )
        await self.notify(repository, fulfillment, event, source=source)
        log.info(
            "fulfillment_annotated",
            fulfillment_id=fulfillment.id,
            status=fulfillment.status,
            source=source,
            notification=event.value,
        )
