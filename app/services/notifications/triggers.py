"""Which changes the store hears about, queued in the transaction that makes them.

The outbox writer travels with the unit of work: the app's sessionmaker carries it in
`Session.info`, so every place that changes a fulfillment (submission, cancellation,
webhooks, the poller) queues its notification in the same transaction without passing
it around. A session without one (a test's, a migration's) queues nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Fulfillment
from app.services.notifications.writer import OutboxWriter
from app.services.statuses import Status
from app.sinks.notification import NotificationEvent

OUTBOX_KEY = "cj_fulfillment.outbox"

_ON_ARRIVAL = {
    Status.shipped: NotificationEvent.shipped,
    Status.delivered: NotificationEvent.delivered,
    Status.cancelled: NotificationEvent.cancelled,
    Status.failed: NotificationEvent.failed,
}


def attach_outbox(sessionmaker: async_sessionmaker[AsyncSession], writer: OutboxWriter) -> None:
    sessionmaker.configure(info={OUTBOX_KEY: writer})


def event_for(from_status: Status | None, to_status: Status) -> NotificationEvent | None:
    """The notification a status change makes: arriving at shipped, delivered, cancelled or
    failed; leaving `pending` for CJ's first states means CJ has assigned its order id."""
    if to_status in _ON_ARRIVAL:
        return _ON_ARRIVAL[to_status]
    if to_status is not Status.pending and from_status in (None, Status.pending):
        return NotificationEvent.cj_order_created
    return None


async def notify(session: AsyncSession, fulfillment: Fulfillment, event: NotificationEvent) -> None:
    writer = session.info.get(OUTBOX_KEY)
    if isinstance(writer, OutboxWriter):
        await writer.enqueue(session, fulfillment, event)
