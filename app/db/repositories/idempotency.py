"""Stored answers keyed by the caller's Idempotency-Key. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import IdempotencyKey


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given for a key, kept as given so that its replays are the same."""

    status: int
    body: dict[str, Any]


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> IdempotencyKey | None:
        statement = (
            select(IdempotencyKey)
            .where(IdempotencyKey.key == key)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, record: IdempotencyKey) -> None:
        self.session.add(record)
        await self.session.flush()

    async def take_over(self, key: str, *, expired: datetime, until: datetime) -> bool:
        """Take over an abandoned in-progress key (its holder died): only one caller wins."""
        statement = (
            update(IdempotencyKey)
            .where(
                IdempotencyKey.key == key,
                IdempotencyKey.state == "in_progress",
                IdempotencyKey.locked_until == expired,
            )
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def complete(self, key: str, answer: StoredAnswer) -> None:
        statement = (
            update(IdempotencyKey)
            .where(IdempotencyKey.key == key)
            .values(
                state="completed",
                response_status=answer.status,
                response_body=answer.body,
                locked_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(statement)

    async def delete_created_before(self, cutoff: datetime, *, limit: int) -> int:
        """Delete up to `limit` keys created before `cutoff`; how many went."""
        oldest = (
            select(IdempotencyKey.id)
            .where(IdempotencyKey.created_at < cutoff)
            .order_by(IdempotencyKey.id)
            .limit(limit)
        )
        result = await self.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.id.in_(oldest.scalar_subquery()))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
