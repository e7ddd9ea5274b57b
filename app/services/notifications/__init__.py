"""Telling the store about fulfillment changes: an outbox, written with the change and
delivered later to each configured sink (see the README, "Notifications (outbox)").

- `triggers`: which status change makes which event, and queueing it with the change;
- `writer`: `OutboxWriter.enqueue(session, fulfillment, event)`, in the caller's transaction;
- `snapshot`: the fulfillment as the payload every sink receives;
- `dispatcher`: `OutboxDispatcher.deliver_due(now, limit)`, called by `app.workers.outbox_loop`;
- `replay`: dead letters back to pending (`cj-fulfillment outbox replay`).

The rows are `app.db.models.outbox_message`, read and written by
`app.db.repositories.outbox_messages`.
"""

from app.services.notifications.dispatcher import DeliveryReport, OutboxDispatcher, RetryPolicy
from app.services.notifications.writer import OutboxWriter
from app.sinks.notification import NotificationEvent

__all__ = ["DeliveryReport", "NotificationEvent", "OutboxDispatcher", "OutboxWriter", "RetryPolicy"]
