"""Following the refund dispute opened to cancel a paid order, until CJ decides.

CJ has no dispute webhook, and disputes/create may answer a bare `true` (its public docs
do) without the dispute's id. So the dispute is known by our own `businessDisputeId`
(`<fulfillment id>-cancel`) and found with getDisputeList; the worker asks about every
fulfillment whose dispute is `requested` (id not known yet) or `open`:
- `finallyDeal` 1 (refund): the fulfillment becomes `cancelled` (the store is told);
- 3 (reject) or 2 (reissue instead of a refund): CJ keeps the order and ships it. The
  fulfillment keeps its status, its `status_reason` says so, and one event and one
  `dispute_rejected` notification tell the store;
- no decision DISPUTE_GIVE_UP_SECONDS after the dispute was opened: it is no longer
  followed (`unanswered`); `status_reason`, one event and a `dispute_undecided`
  notification say to follow it in MyCJ.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.client import CJClient
from app.cj.errors import CJError
from app.cj.models import DisputeRecord, Priority
from app.core.clock import utcnow
from app.db.models import Fulfillment
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.session import transaction
from app.services.statuses import Status
from app.services.transitions import StatusChanges
from app.sinks.notification import NotificationEvent

log = structlog.get_logger(__name__)

SOURCE = "cj_dispute"
BATCH = 20
REFUND, REISSUE, REJECT = 1, 2, 3


class DisputeStatus(StrEnum):
    requested = "requested"
    open = "open"
    refunded = "refunded"
    reissued = "reissued"
    rejected = "rejected"
    unanswered = "unanswered"


FOLLOWED = (DisputeStatus.requested.value, DisputeStatus.open.value)
NOT_REFUNDED = {
    DisputeStatus.rejected: (
        "CJ rejected the refund dispute {dispute_id}: the order was not cancelled and ships "
        "as placed"
    ),
    DisputeStatus.reissued: (
        "CJ chose to reissue rather than refund (dispute {dispute_id}): the order was not "
        "cancelled and ships"
    ),
}


def business_dispute_id(fulfillment_id: str) -> str:
    """Our id for the one cancellation dispute a fulfillment may have (CJ keeps it unique)."""
    return f"{fulfillment_id}-cancel"


def find(records: Sequence[DisputeRecord], fulfillment: Fulfillment) -> DisputeRecord | None:
    """The fulfillment's dispute among the order's: by CJ's id when known, else by ours."""
    ours = business_dispute_id(fulfillment.id)
    for record in records:
        if fulfillment.dispute_id and record.cj_id == fulfillment.dispute_id:
            return record
        if record.business_dispute_id == ours:
            return record
    return None


class DisputeFollower:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cj: CJClient,
        *,
        changes: StatusChanges,
        give_up_after: timedelta,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cj = cj
        self._changes = changes
        self._give_up_after = give_up_after

    async def follow_due(self) -> int:
        """One pass over the disputes CJ has not decided; how many were asked about."""
        async with self._sessionmaker() as session:
            ids = await FulfillmentRepository(session).with_dispute_in(FOLLOWED, limit=BATCH)
        for fulfillment_id in ids:
            try:
                await self.follow(fulfillment_id)
            except CJError as exc:  # CJ down or slow: the next pass asks again
                log.info("dispute_follow_deferred", fulfillment_id=fulfillment_id, error=str(exc))
        return len(ids)

    async def follow(self, fulfillment_id: str) -> Fulfillment | None:
        async with self._sessionmaker() as session:
            row = await FulfillmentRepository(session).get(fulfillment_id)
        if row is None or row.cj_order_id is None or row.dispute_status not in FOLLOWED:
            return row
        record = find(await self._cj.dispute_list(row.cj_order_id, priority=Priority.polling), row)
        undecided = record is None or record.finally_deal not in (REFUND, REISSUE, REJECT)
        if record is None and not self._past_give_up(row):
            return row
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            locked = await repository.get_for_update(fulfillment_id)
            if locked is None or locked.dispute_status not in FOLLOWED:
                return locked
            if record is not None:
                await self._apply(repository, locked, record)
            if undecided and self._past_give_up(locked):
                await self._give_up(repository, locked)
        return locked

    def _past_give_up(self, row: Fulfillment) -> bool:
        opened = row.dispute_opened_at
        return opened is not None and utcnow() - _aware(opened) >= self._give_up_after

    async def _give_up(self, repository: FulfillmentRepository, row: Fulfillment) -> None:
        days = self._give_up_after.total_seconds() / 86_400
        row.dispute_status = DisputeStatus.unanswered.value
        reason = (
            f"CJ has not decided the refund dispute {row.dispute_id or '(id not known)'} "
            f"within {days:g} days (DISPUTE_GIVE_UP_SECONDS): it is no longer followed; "
            "follow it in MyCJ"
        )
        await self._changes.annotate(
            repository,
            row,
            source=SOURCE,
            reason=reason,
            detail={"dispute_id": row.dispute_id, "outcome": DisputeStatus.unanswered.value},
            event=NotificationEvent.dispute_undecided,
        )
        log.warning("cj_dispute_given_up", fulfillment_id=row.id, dispute_id=row.dispute_id)

    async def _apply(
        self, repository: FulfillmentRepository, row: Fulfillment, record: DisputeRecord
    ) -> None:
        """Record what CJ says of the dispute (the caller holds the row)."""
        row.dispute_id = row.dispute_id or record.cj_id
        detail = {"dispute_id": row.dispute_id, "finally_deal": record.finally_deal}
        if record.finally_deal == REFUND:
            row.dispute_status = DisputeStatus.refunded.value
            await self._changes.move(
                repository,
                row,
                Status.cancelled,
                source=SOURCE,
                reason=f"CJ refunded the order (refund dispute {row.dispute_id})",
                detail=detail,
            )
            log.info("cj_dispute_refunded", fulfillment_id=row.id, dispute_id=row.dispute_id)
            return
        if record.finally_deal in (REJECT, REISSUE):
            outcome = (
                DisputeStatus.rejected if record.finally_deal == REJECT else DisputeStatus.reissued
            )
            row.dispute_status = outcome.value
            await self._changes.annotate(
                repository,
                row,
                source=SOURCE,
                reason=NOT_REFUNDED[outcome].format(dispute_id=row.dispute_id),
                detail={**detail, "outcome": outcome.value},
                event=NotificationEvent.dispute_rejected,
            )
            log.info(
                "cj_dispute_not_refunded",
                fulfillment_id=row.id,
                dispute_id=row.dispute_id,
                outcome=outcome.value,
            )
            return
        if row.dispute_status == DisputeStatus.requested.value and row.dispute_id:
            row.dispute_status = DisputeStatus.open.value


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
