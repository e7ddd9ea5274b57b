"""Cancelling a fulfillment: locally while CJ cannot have it, at CJ while CJ allows it.

- `pending`, and CJ cannot have it (never sent, or CJ said it has none): cancelled
  under the row lock; the worker only claims pending rows, so it can no longer send it.
- `pending` after an attempt that may have reached CJ: the row is claimed (so no one
  sends it meanwhile) and the order looked up by orderNumber; found, it is cancelled at
  CJ like any placed order; not found, locally.
- `pending` while a submission is in flight: wait briefly for it, else 409 (retry).
- At CJ and not yet confirmed (created, in_cart): deleteOrder. CJ deletes nothing later
  (seed 004 §1.8); a refusal is a 409 that says so, never "retry".
- Confirmed but unpaid (unpaid): 409, the merchant cancels it in MyCJ.
- Paid (unshipped): 409 saying why, unless CANCEL_AFTER_PAYMENT=dispute, which opens a
  refund dispute ("Unfulfilled Order Cancellation", reason id looked up) and records it
  (`dispute_status` requested or open; its id found in CJ's dispute list when CJ answers
  only `true`); the worker follows it: refunded → `cancelled`, rejected → the store is
  told and the order ships, and a cancel asked again after that is a 409.
- Shipped or delivered: 409. Already cancelled: answered as is.

CJ is asked for the order's current status first: ours may lag behind CJ's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.client import CJClient
from app.cj.errors import CJAmbiguous, CJError, CJNotFound, CJRejected, CJUnavailable
from app.cj.models import DisputeRecord
from app.core.clock import utcnow
from app.core.config import CancelAfterPayment, Settings
from app.core.errors import Conflict, UpstreamUnavailable
from app.core.metrics import FULFILLMENT_CANCELS
from app.db.models import Fulfillment
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.session import transaction
from app.services.disputes import FOLLOWED, DisputeStatus, business_dispute_id, find
from app.services.errors import FulfillmentNotFound
from app.services.statuses import (
    CONFIRMED_UNPAID,
    DELETABLE_AT_CJ,
    PAID,
    SHIPPED_OR_LATER,
    Status,
    from_cj,
)
from app.services.submission import Submitter
from app.services.transitions import StatusChanges

log = structlog.get_logger(__name__)

DISPUTE_REASON = "unfulfilled order cancellation"
CANCEL_IN_MYCJ = (
    "The order is confirmed at CJ (UNPAID) and CJ deletes only orders that are not "
    "confirmed yet; cancel it in MyCJ (My Orders), then cancel the fulfillment again."
)
IN_FLIGHT_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class CancelResult:
    fulfillment: Fulfillment
    # True when a refund dispute was opened (or already open): the cancel is requested.
    dispute_requested: bool = False


class CancelRefused(Conflict):
    description = (
        "CJ will not cancel it (unpaid: the merchant cancels it in MyCJ; a delete CJ "
        "refuses; paid; shipped), or it is being sent now"
    )


class CJUnreachable(UpstreamUnavailable):
    description = "CJ could not be asked; nothing changed"


def _unavailable(exc: CJError) -> CJUnreachable:
    FULFILLMENT_CANCELS.labels(outcome="unavailable").inc()
    return CJUnreachable(
        f"CJ could not be asked ({exc}); nothing was cancelled. Retry shortly.",
        retry_after_seconds=5,
    )


def _refuse(detail: str, fulfillment: Fulfillment) -> CancelRefused:
    FULFILLMENT_CANCELS.labels(outcome="refused").inc()
    return CancelRefused(detail, extra={"status_now": fulfillment.status})


class CancellationService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cj: CJClient,
        submitter: Submitter,
        settings: Settings,
        *,
        changes: StatusChanges,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cj = cj
        self._submitter = submitter
        self._settings = settings
        self._changes = changes

    async def cancel(self, fulfillment_id: str) -> CancelResult:
        waited_until = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
        while True:
            local = await self._cancel_pending_locally(fulfillment_id)
            if isinstance(local, CancelResult):
                return local
            if local != "in_flight":
                break
            if time.monotonic() >= waited_until:
                FULFILLMENT_CANCELS.labels(outcome="refused").inc()
                raise CancelRefused(
                    "The fulfillment is being sent to CJ right now; retry in a few seconds.",
                    retry_after_seconds=5,
                )
            await asyncio.sleep(_POLL_SECONDS)
        if local == "maybe_at_cj":
            return await self._cancel_after_uncertain_attempts(fulfillment_id)
        return await self._cancel_at_cj(fulfillment_id)

    async def _cancel_pending_locally(self, fulfillment_id: str) -> CancelResult | str:
        """Cancel a pending row that CJ cannot have; otherwise say what it is:
        "in_flight", "maybe_at_cj" (pending, an earlier attempt may have reached CJ) or
        "placed" (not pending)."""
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            row = await repository.get_for_update(fulfillment_id)
            if row is None:
                raise FulfillmentNotFound(fulfillment_id)
            if row.status != Status.pending:
                return "placed"
            if row.claimed_until is not None and row.claimed_until > utcnow():
                return "in_flight"
            if row.may_be_at_cj:
                return "maybe_at_cj"
            await self._changes.move(
                repository, row, Status.cancelled, source="api", reason="cancelled before CJ"
            )
        FULFILLMENT_CANCELS.labels(outcome="cancelled_locally").inc()
        log.info("fulfillment_cancelled_locally", fulfillment_id=fulfillment_id)
        return CancelResult(row)

    async def _cancel_after_uncertain_attempts(self, fulfillment_id: str) -> CancelResult:
        claimed = await self._submitter.claim(fulfillment_id)
        if claimed is None:  # someone claimed or changed it meanwhile: start over
            return await self.cancel(fulfillment_id)
        try:
            detail = await self._cj.get_order_detail(fulfillment_id)
        except CJNotFound:
            detail = None
        except CJError as exc:
            await self._release(fulfillment_id)
            raise _unavailable(exc) from exc
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            row = await repository.get_for_update(fulfillment_id)
            if row is None:  # pragma: no cover - rows are never deleted
                raise FulfillmentNotFound(fulfillment_id)
            row.claimed_until = None
            if detail is None:
                await self._changes.move(
                    repository,
                    row,
                    Status.cancelled,
                    source="api",
                    reason="cancelled before CJ (CJ has no order for it)",
                )
            else:
                await self._adopt(repository, row, detail.cj_id, detail.order_status)
        if detail is None:
            FULFILLMENT_CANCELS.labels(outcome="cancelled_locally").inc()
            return CancelResult(row)
        return await self._cancel_at_cj(fulfillment_id)

    async def _release(self, fulfillment_id: str) -> None:
        async with transaction(self._sessionmaker) as session:
            row = await FulfillmentRepository(session).get_for_update(fulfillment_id)
            if row is not None:
                row.claimed_until = None

    async def _adopt(
        self,
        repository: FulfillmentRepository,
        row: Fulfillment,
        cj_id: str | None,
        cj_status: str | None,
    ) -> None:
        row.cj_order_id = row.cj_order_id or cj_id
        row.cj_status = cj_status or row.cj_status
        await self._changes.move(
            repository,
            row,
            from_cj(cj_status),
            source="cj_lookup",
            detail={"cj_order_id": row.cj_order_id, "cj_status": cj_status},
        )

    async def _refresh(self, fulfillment_id: str) -> Fulfillment:
        """Our row with CJ's current status applied (forward only)."""
        async with self._sessionmaker() as session:
            row = await FulfillmentRepository(session).get(fulfillment_id)
        if row is None:  # pragma: no cover
            raise FulfillmentNotFound(fulfillment_id)
        if row.status in (Status.cancelled, Status.failed):
            return row
        try:
            # CJ finds an order by its id or by our orderNumber.
            detail = await self._cj.get_order_detail(row.cj_order_id or row.cj_order_number)
        except CJError as exc:
            raise _unavailable(exc) from exc
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            locked = await repository.get_for_update(fulfillment_id)
            assert locked is not None
            await self._adopt(repository, locked, detail.cj_id, detail.order_status)
            if detail.dispute_id and not locked.dispute_id:
                locked.dispute_id = detail.dispute_id
                locked.dispute_status = locked.dispute_status or DisputeStatus.open.value
                locked.dispute_opened_at = locked.dispute_opened_at or utcnow()
        return locked

    async def _cancel_at_cj(self, fulfillment_id: str) -> CancelResult:
        row = await self._refresh(fulfillment_id)
        status = Status(row.status)
        if status in (Status.cancelled, Status.failed):
            return CancelResult(row)
        if status in SHIPPED_OR_LATER:
            raise _refuse(
                f"The order has {status.value} at CJ; a shipped order cannot be cancelled. "
                "Handle it as a return.",
                row,
            )
        if status in PAID:
            if self._settings.cancel_after_payment is CancelAfterPayment.refuse:
                raise _refuse(
                    "The order is paid at CJ and CJ cancels only unpaid orders. Cancel it in "
                    "MyCJ with a refund dispute, or set CANCEL_AFTER_PAYMENT=dispute to have "
                    "this service open one.",
                    row,
                )
            return await self._dispute(row)
        if status in CONFIRMED_UNPAID:
            raise _refuse(CANCEL_IN_MYCJ, row)
        if status in DELETABLE_AT_CJ:
            return await self._delete(row)
        raise _refuse(f"A fulfillment in status {status.value} cannot be cancelled.", row)

    async def _delete(self, row: Fulfillment) -> CancelResult:
        try:
            # CJ finds an order by its id or by our orderNumber (no id yet: non-CJ SKUs).
            await self._cj.delete_order(row.cj_order_id or row.cj_order_number)
        except (CJAmbiguous, CJRejected) as exc:
            # Did it take effect, or did the order move on (confirmed, paid) meanwhile?
            # CJ knows.
            log.info("cj_delete_unclear", cj_order_id=row.cj_order_id, error=str(exc))
            refreshed = await self._refresh(row.id)
            if refreshed.status == Status.cancelled:
                return CancelResult(refreshed)
            if refreshed.status not in DELETABLE_AT_CJ:
                return await self._cancel_at_cj(row.id)
            if isinstance(exc, CJAmbiguous):
                raise _unavailable(exc) from exc
            # CJ refuses to delete an order it still calls deletable: a refusal, for good.
            raise _refuse(
                f"CJ refused to delete the order ({exc}); cancel it in MyCJ (My Orders), "
                "then cancel the fulfillment again.",
                refreshed,
            ) from exc
        except CJUnavailable as exc:
            raise _unavailable(exc) from exc
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            locked = await repository.get_for_update(row.id)
            assert locked is not None
            locked.cj_status = "CANCELLED"
            await self._changes.move(
                repository,
                locked,
                Status.cancelled,
                source="api",
                reason="deleted at CJ before payment",
                detail={"cj_order_id": locked.cj_order_id},
            )
        FULFILLMENT_CANCELS.labels(outcome="deleted_at_cj").inc()
        log.info("fulfillment_cancelled_at_cj", fulfillment_id=row.id, cj_order_id=row.cj_order_id)
        return CancelResult(locked)

    async def _dispute(self, row: Fulfillment) -> CancelResult:
        """Open (once) a refund dispute for the whole paid order and record it; the
        worker follows it to CJ's decision (services.disputes)."""
        if row.dispute_status in FOLLOWED or (row.dispute_id and row.dispute_status is None):
            return CancelResult(row, dispute_requested=True)
        if row.dispute_status is not None:  # CJ decided against a refund: the order ships
            raise _refuse(f"{row.status_reason}. Ask CJ about it in MyCJ.", row)
        cj_id = row.cj_order_id
        assert cj_id is not None
        try:
            products = [p for p in await self._cj.dispute_products(cj_id) if p.can_choose]
            info = await self._cj.dispute_confirm_info(cj_id, products)
            reason = next(
                (
                    r
                    for r in info.dispute_reason_list
                    if r.reason_name.strip().lower() == DISPUTE_REASON
                ),
                None,
            )
            if reason is None or not products:
                raise _refuse(
                    "CJ offers no 'Unfulfilled Order Cancellation' dispute for this order; "
                    "cancel it in MyCJ.",
                    row,
                )
            dispute_id = await self._cj.create_dispute(
                order_id=cj_id,
                business_dispute_id=business_dispute_id(row.id),
                reason_id=reason.dispute_reason_id,
                products=products,
                message="The store cancelled this order before it shipped; please refund it.",
            )
        except CJAmbiguous:
            found = await self._find_dispute(row)
            if found is None:
                raise _unavailable(CJAmbiguous("opening the dispute had no clear answer")) from None
            dispute_id = found.cj_id
        except CJUnavailable as exc:
            raise _unavailable(exc) from exc
        except CJRejected as exc:
            raise _refuse(f"CJ refused to open a refund dispute: {exc}", row) from exc
        if dispute_id is None:  # CJ answered `true`: its id is in its dispute list
            found = await self._find_dispute(row)
            dispute_id = found.cj_id if found is not None else None
        async with transaction(self._sessionmaker) as session:
            locked = await FulfillmentRepository(session).get_for_update(row.id)
            assert locked is not None
            locked.dispute_id = dispute_id
            locked.dispute_status = (
                DisputeStatus.open.value if dispute_id else DisputeStatus.requested.value
            )
            locked.dispute_opened_at = utcnow()
        FULFILLMENT_CANCELS.labels(outcome="dispute_opened").inc()
        log.info("cj_refund_dispute_opened", fulfillment_id=row.id, dispute_id=dispute_id)
        return CancelResult(locked, dispute_requested=True)

    async def _find_dispute(self, row: Fulfillment) -> DisputeRecord | None:
        """Our dispute in CJ's list for the order (None when CJ cannot be asked now)."""
        assert row.cj_order_id is not None
        try:
            return find(await self._cj.dispute_list(row.cj_order_id), row)
        except CJError as exc:
            log.info("cj_dispute_list_unavailable", fulfillment_id=row.id, error=str(exc))
            return None
