"""Read-only aggregates an operator looks at first (status command, worker gauges)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Fulfillment, WebhookInboxMessage


class OperationsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def fulfillment_counts(self) -> dict[str, int]:
        """How many fulfillments are in each status (statuses with none are absent)."""
        rows = await self._session.execute(
            select(Fulfillment.status, func.count()).group_by(Fulfillment.status)
        )
        return {str(status): int(count) for status, count in rows.all()}

    async def oldest_pending_created_at(self) -> datetime | None:
        return await self._session.scalar(
            select(func.min(Fulfillment.created_at)).where(Fulfillment.status == "pending")
        )

    async def last_webhook_received_at(self) -> datetime | None:
        return await self._session.scalar(select(func.max(WebhookInboxMessage.received_at)))
