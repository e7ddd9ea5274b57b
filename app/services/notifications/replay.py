"""Giving dead letters another chance (`cj-fulfillment outbox replay`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories.outbox_messages import OutboxRepository


@dataclass
class ReplayReport:
    replayed: list[int] = field(default_factory=list)
    not_found: list[int] = field(default_factory=list)
    not_dead: dict[int, str] = field(default_factory=dict)  # id -> its status


async def replay_dead(
    session: AsyncSession, ids: Collection[int] | None, now: datetime
) -> ReplayReport:
    """Dead messages back to pending, attempts reset, due at `now` (`ids=None`: all dead).

    A replayed message keeps its creation time, so past its 3 days it gets one attempt
    and is dead again if that fails. Flushes; the caller commits.
    """
    repository = OutboxRepository(session)
    report = ReplayReport(replayed=await repository.replay_dead(ids, now))
    if ids is not None:
        others = set(ids) - set(report.replayed)
        statuses = await repository.statuses(others) if others else {}
        report.not_found = sorted(others - set(statuses))
        report.not_dead = dict(sorted(statuses.items()))
    return report
