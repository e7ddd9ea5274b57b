"""Aggregates an operator looks at first (status command, worker gauges), and the ops
alerts the worker queues in the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Fulfillment, FulfillmentEvent, OutboxMessage, WebhookInboxMessage

# The advisory lock key of ops alert decisions ("cjf-ops" in ASCII).
_ALERTS_LOCK = 0x636A662D6F7073


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

    async def recent_failures(self, since: datetime) -> tuple[int, Fulfillment | None]:
        """How many fulfillments failed since `since`, and the latest of them."""
        recent = Fulfillment.status == "failed", Fulfillment.updated_at >= since
        count = await self._session.scalar(select(func.count()).where(*recent))
        latest = await self._session.scalar(
            select(Fulfillment).where(*recent).order_by(Fulfillment.updated_at.desc()).limit(1)
        )
        return int(count or 0), latest

    async def recent_interceptions(self, since: datetime) -> tuple[int, Fulfillment | None, str]:
        """How many fulfillments CJ intercepted since `since` (their creation event carries
        CJ's reasons), and the latest of them with its reasons."""
        reasons = FulfillmentEvent.detail["intercepted"].as_string()
        recent = reasons.is_not(None), FulfillmentEvent.created_at >= since
        count = await self._session.scalar(
            select(func.count(func.distinct(FulfillmentEvent.fulfillment_id))).where(*recent)
        )
        latest = (
            await self._session.execute(
                select(Fulfillment, reasons)
                .join(Fulfillment, Fulfillment.id == FulfillmentEvent.fulfillment_id)
                .where(*recent)
                .order_by(FulfillmentEvent.created_at.desc(), FulfillmentEvent.id.desc())
                .limit(1)
            )
        ).first()
        if latest is None:
            return int(count or 0), None, ""
        return int(count or 0), latest[0], str(latest[1])

    async def dead_letters(self, *, excluding_prefix: str) -> dict[str, int]:
        """Dead outbox messages per sink, leaving out the sinks named `excluding_prefix…`."""
        rows = await self._session.execute(
            select(OutboxMessage.sink, func.count())
            .where(OutboxMessage.status == "dead", ~OutboxMessage.sink.startswith(excluding_prefix))
            .group_by(OutboxMessage.sink)
        )
        return {str(sink): int(count) for sink, count in rows.all()}

    async def lock_alerts(self) -> None:
        """Serialise alert decisions across workers for this transaction (Postgres; one
        process on SQLite needs none)."""
        if self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(select(func.pg_advisory_xact_lock(_ALERTS_LOCK)))

    async def announced_alerts(self, sink: str, prefix: str) -> dict[str, str]:
        """The newest ops-alert `event_type` queued for `sink`, per incident."""
        rows = await self._session.execute(
            select(OutboxMessage.event_type, func.max(OutboxMessage.id))
            .where(
                OutboxMessage.fulfillment_id.is_(None),
                OutboxMessage.sink == sink,
                OutboxMessage.event_type.startswith(prefix),
            )
            .group_by(OutboxMessage.event_type)
        )
        newest: dict[str, tuple[int, str]] = {}
        for event_type, newest_id in rows.all():
            incident = str(event_type)[len(prefix) :].rsplit(":", 1)[0]
            if incident not in newest or newest_id > newest[incident][0]:
                newest[incident] = (int(newest_id), str(event_type))
        return {incident: event_type for incident, (_, event_type) in newest.items()}

    async def add_alerts(self, messages: list[OutboxMessage]) -> None:
        self._session.add_all(messages)
        await self._session.flush()
