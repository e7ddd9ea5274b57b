"""What an operator checks first, read in one go: the `cj-fulfillment status` screen,
the worker's gauges (`fulfillments_by_status`, token expiry, last webhook …) and the ops
alerts all come from this one snapshot, so they never disagree."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.client import CJClient
from app.cj.envelope import PointsInfo
from app.core.metrics import (
    CJ_TOKEN_EXPIRES,
    FULFILLMENT_OLDEST_PENDING_AGE,
    FULFILLMENTS_BY_STATUS,
    WEBHOOK_LAST_RECEIVED,
)
from app.db.repositories.operations import OperationsRepository
from app.db.repositories.outbox_messages import OutboxRepository, SinkBacklog
from app.services.statuses import TERMINAL, Status

HEARTBEAT_PREFIX = "cj:worker:heartbeat:"
# A worker beats every few seconds; a key that outlives this many has a dead owner.
HEARTBEAT_TTL_SECONDS = 60
# A token is "near expiry" when less than this is left. The manager refreshes a day ahead,
# so reaching it means refreshing has failed for half a day.
TOKEN_EXPIRY_WARNING_SECONDS = 12 * 3600


@dataclass(frozen=True)
class TokenReport:
    status: str  # valid, refresh_due, expired, missing, unknown
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None

    def near_expiry(self, now: datetime) -> bool:
        if self.status in {"missing", "expired", "unknown"}:
            return True
        expires = self.access_expires_at
        return expires is not None and (expires - now).total_seconds() < (
            TOKEN_EXPIRY_WARNING_SECONDS
        )


@dataclass(frozen=True)
class WorkerBeat:
    name: str
    at: datetime


@dataclass(frozen=True)
class OpsSnapshot:
    taken_at: datetime
    fulfillments: dict[str, int]
    oldest_pending_at: datetime | None
    outbox: list[SinkBacklog]
    last_webhook_at: datetime | None
    token: TokenReport
    breaker: str
    points_exhausted_until: datetime | None
    points: PointsInfo | None
    workers: list[WorkerBeat] | None  # None: not visible (no Redis)

    @property
    def open_fulfillments(self) -> int:
        """At CJ and not finished (created … shipped): what CJ's webhooks are about."""
        done = TERMINAL | {Status.pending, Status.delivered}
        return sum(n for status, n in self.fulfillments.items() if Status(status) not in done)

    @property
    def pending_age_seconds(self) -> float:
        if self.oldest_pending_at is None:
            return 0.0
        return max((self.taken_at - self.oldest_pending_at).total_seconds(), 0.0)

    @property
    def dead_letters(self) -> int:
        return sum(backlog.dead for backlog in self.outbox)

    @property
    def outbox_pending(self) -> int:
        return sum(backlog.pending for backlog in self.outbox)


class OpsReader:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cj: CJClient,
        redis: Redis | None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cj = cj
        self._redis = redis

    async def snapshot(self, now: datetime | None = None) -> OpsSnapshot:
        now = now or datetime.now(UTC)
        async with self._sessionmaker() as session:
            operations = OperationsRepository(session)
            counts = await operations.fulfillment_counts()
            oldest_pending = await operations.oldest_pending_created_at()
            last_webhook = await operations.last_webhook_received_at()
            outbox = await OutboxRepository(session).backlog()
        points = self._cj.transport.points
        breaker = self._cj.transport.breaker
        with contextlib.suppress(Exception):
            await breaker.sync_once()  # adopt what another process saw (with Redis)
        return OpsSnapshot(
            taken_at=now,
            fulfillments=counts,
            oldest_pending_at=oldest_pending,
            outbox=outbox,
            last_webhook_at=last_webhook,
            token=await self._token(now),
            breaker=breaker.state,
            points_exhausted_until=await points.exhausted_until(),
            points=await points.last_info(),
            workers=await self._workers(),
        )

    async def _token(self, now: datetime) -> TokenReport:
        try:
            state = await self._cj.tokens.state()
        except Exception:
            return TokenReport("unknown", None, None)
        if state is None or state.access_token is None:
            return TokenReport("missing", None, None)
        return TokenReport(state.status(now), state.access_expires_at, state.refresh_expires_at)

    async def _workers(self) -> list[WorkerBeat] | None:
        if self._redis is None:
            return None
        beats = []
        async for key in self._redis.scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=100):
            raw = await self._redis.get(key)
            if raw is None:
                continue
            name = (key.decode() if isinstance(key, bytes) else key)[len(HEARTBEAT_PREFIX) :]
            beats.append(WorkerBeat(name, datetime.fromisoformat(json.loads(raw)["at"])))
        return sorted(beats, key=lambda beat: beat.name)


async def record_heartbeat(redis: Redis, worker: str, at: datetime) -> None:
    """Say in Redis that `worker` is alive (the key expires when it stops saying so)."""
    await redis.set(
        f"{HEARTBEAT_PREFIX}{worker}", json.dumps({"at": at.isoformat()}), ex=HEARTBEAT_TTL_SECONDS
    )


def publish_gauges(snapshot: OpsSnapshot) -> None:
    """The snapshot as the worker's Prometheus gauges."""
    for status in Status:
        FULFILLMENTS_BY_STATUS.labels(status=status.value).set(
            snapshot.fulfillments.get(status.value, 0)
        )
    FULFILLMENT_OLDEST_PENDING_AGE.set(snapshot.pending_age_seconds)
    WEBHOOK_LAST_RECEIVED.set(
        snapshot.last_webhook_at.timestamp() if snapshot.last_webhook_at else 0
    )
    token = snapshot.token
    CJ_TOKEN_EXPIRES.labels(token="access").set(
        token.access_expires_at.timestamp() if token.access_expires_at else 0
    )
    CJ_TOKEN_EXPIRES.labels(token="refresh").set(
        token.refresh_expires_at.timestamp() if token.refresh_expires_at else 0
    )


def attention(snapshot: OpsSnapshot, *, pending_warning_seconds: float = 30 * 60) -> list[str]:
    """What needs a person now, one line each (empty when all is well)."""
    lines = []
    if snapshot.workers is not None and not snapshot.workers:
        lines.append("no worker heartbeat: start `python -m app.workers`")
    if snapshot.breaker != "closed":
        lines.append(f"CJ circuit breaker {snapshot.breaker}: CJ is failing or unreachable")
    if snapshot.token.near_expiry(snapshot.taken_at):
        lines.append(
            f"CJ token {snapshot.token.status}: check with `cj-fulfillment cj token --refresh`"
        )
    if snapshot.points_exhausted_until is not None:
        lines.append(
            "CJ API points used up until "
            f"{snapshot.points_exhausted_until.isoformat(timespec='minutes')}"
        )
    failed = snapshot.fulfillments.get(Status.failed.value, 0)
    if failed:
        lines.append(f"{failed} failed fulfillment(s): GET /v1/fulfillments?status=failed")
    if snapshot.pending_age_seconds > pending_warning_seconds:
        lines.append(f"an order has waited {snapshot.pending_age_seconds / 60:.0f} min to reach CJ")
    if snapshot.dead_letters:
        lines.append(
            f"{snapshot.dead_letters} dead notification(s): `cj-fulfillment outbox list "
            "--status dead`"
        )
    return lines
