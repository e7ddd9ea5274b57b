"""Writing notifications: one outbox row per interested sink, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Fulfillment, FulfillmentItem, OutboxMessage
from app.db.repositories.outbox_messages import OutboxRepository
from app.services.notifications.snapshot import build_notification
from app.sinks.notification import NotificationEvent


class OutboxWriter:
    """Knows which configured sink wants which events; writes, never commits.

    `routes` maps a sink's name to the events it delivers (`Sink.events`); a sink that is
    not configured has no route, so nothing is queued for it.
    """

    def __init__(self, routes: Mapping[str, frozenset[NotificationEvent]]) -> None:
        self._routes = dict(routes)

    @property
    def sinks(self) -> list[str]:
        return sorted(self._routes)

    async def enqueue(
        self,
        session: AsyncSession,
        fulfillment: Fulfillment,
        event: NotificationEvent | str,
        *,
        occurred_at: datetime | None = None,
        source: str | None = None,
        flush: bool = True,
    ) -> list[OutboxMessage]:
        """Queue `event` for every sink that wants it, with the fulfillment as it is now.

        Call it after changing the fulfillment, in the same transaction, while holding its
        row (an UPDATE of it does): rows are delivered per fulfillment in id order, so
        changes must be queued in the order they are committed. Flushes; never commits.
        `occurred_at` (default now) is the payload's `timestamp`, `source` its
        `change_source`. Without `flush` the rows are inserted at the session's next flush,
        and the session is flushed first only when the snapshot needs it (see
        `_unflushed_defaults`): the caller already holds the row (locked).
        """
        event = NotificationEvent(event)  # an unknown event is a ValueError, at the caller
        sinks = [name for name, events in sorted(self._routes.items()) if event in events]
        if not sinks:
            return []
        if flush or _unflushed_defaults(fulfillment):
            await session.flush()  # fills timestamps and defaults of a new or changed row
        now = datetime.now(UTC)
        notification = build_notification(
            fulfillment,
            await _items_of(session, fulfillment),
            event,
            occurred_at or now,
            source=source,
        )
        payload = notification.model_dump(mode="json")
        messages = [
            OutboxMessage(
                fulfillment_id=fulfillment.id,
                sink=sink,
                event_type=event.value,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
            )
            for sink in sinks
        ]
        await OutboxRepository(session).add(messages, flush=flush)
        return messages


def _unflushed_defaults(fulfillment: Fulfillment) -> bool:
    """Whether a flush would change what the snapshot reads: a new row gets its defaults,
    a changed one its `updated_at` (onupdate) unless the change set it."""
    state = inspect(fulfillment)
    if not state.persistent:
        return True
    return state.modified and not state.attrs.updated_at.history.has_changes()


async def _items_of(session: AsyncSession, fulfillment: Fulfillment) -> list[FulfillmentItem]:
    if "items" not in inspect(fulfillment).unloaded:
        return list(fulfillment.items)
    return await OutboxRepository(session).items_of(fulfillment.id)
