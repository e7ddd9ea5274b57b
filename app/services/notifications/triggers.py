"""Which status changes the store hears about (`StatusChanges` queues them)."""

from __future__ import annotations

from app.services.statuses import Status
from app.sinks.notification import NotificationEvent

_ON_ARRIVAL = {
    Status.shipped: NotificationEvent.shipped,
    Status.delivered: NotificationEvent.delivered,
    Status.cancelled: NotificationEvent.cancelled,
    Status.failed: NotificationEvent.failed,
}


def event_for(from_status: Status | None, to_status: Status) -> NotificationEvent | None:
    """The notification a status change makes: arriving at shipped, delivered, cancelled or
    failed; leaving `pending` for CJ's first states means CJ has assigned its order id."""
    if to_status in _ON_ARRIVAL:
        return _ON_ARRIVAL[to_status]
    if to_status is not Status.pending and from_status in (None, Status.pending):
        return NotificationEvent.cj_order_created
    return None
