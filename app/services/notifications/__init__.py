"""Telling the store about fulfillment changes: an outbox, written with the change and
delivered later to each configured sink (see the README, "Notifications (outbox)").

- `OutboxWriter.enqueue(session, fulfillment, event)`: in the caller's transaction.
- `OutboxDispatcher.deliver_due(now, limit)`: from the worker loop.
"""

from app.schemas.notifications import NotificationEvent
from app.services.notifications.dispatcher import DeliveryReport, OutboxDispatcher, RetryPolicy
from app.services.notifications.outbox import OutboxWriter

__all__ = ["DeliveryReport", "NotificationEvent", "OutboxDispatcher", "OutboxWriter", "RetryPolicy"]
