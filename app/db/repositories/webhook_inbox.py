"""The worker's queries on `webhook_inbox`: CJ's webhooks, stored raw, unique by
`messageId` (the intake stores them through db.inbox_writer). Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db.models import WebhookInboxMessage


def _due(status: str, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Messages in `status` whose next attempt (if any is set) has come."""
    return (
        WebhookInboxMessage.status == status,
        or_(
            WebhookInboxMessage.next_attempt_at.is_(None),
            WebhookInboxMessage.next_attempt_at <= now,
        ),
    )


class WebhookInboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def due(self, status: str, *, now: datetime, limit: int) -> Sequence[WebhookInboxMessage]:
        """Messages in `status` whose next attempt is due, oldest first; on Postgres they
        stay locked (SKIP LOCKED) until the caller's transaction ends. Read in id order
        from the pending index (models.webhook_inbox), never through the settled ones."""
        statement = (
            select(WebhookInboxMessage)
            .where(*_due(status, now))
            .order_by(WebhookInboxMessage.id)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        return (await self._session.execute(statement)).scalars().all()

    async def due_ids(self, status: str, *, now: datetime, limit: int) -> Sequence[int]:
        """Ids of the messages `due` would return, without locking them."""
        statement = (
            select(WebhookInboxMessage.id)
            .where(*_due(status, now))
            .order_by(WebhookInboxMessage.id)
            .limit(limit)
        )
        return (await self._session.execute(statement)).scalars().all()

    async def claim(self, inbox_id: int, status: str) -> WebhookInboxMessage | None:
        """The message, locked, if it is still in `status` and no one else holds it."""
        statement = select(WebhookInboxMessage).where(
            WebhookInboxMessage.id == inbox_id, WebhookInboxMessage.status == status
        )
        if self._session.get_bind().dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def oldest_received_at(self, statuses: Sequence[str]) -> datetime | None:
        return await self._session.scalar(
            select(func.min(WebhookInboxMessage.received_at)).where(
                WebhookInboxMessage.status.in_(statuses)
            )
        )

    async def delete_settled_before(
        self, cutoff: datetime, *, keep: Sequence[str], limit: int
    ) -> int:
        """Delete up to `limit` messages received before `cutoff` whose status is not in
        `keep` (those still waiting for work); how many went."""
        oldest = (
            select(WebhookInboxMessage.id)
            .where(
                WebhookInboxMessage.received_at < cutoff,
                WebhookInboxMessage.status.not_in(keep),
            )
            .order_by(WebhookInboxMessage.id)
            .limit(limit)
        )
        result = await self._session.execute(
            delete(WebhookInboxMessage).where(WebhookInboxMessage.id.in_(oldest.scalar_subquery()))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
