"""Trying a balance payment again (CJ_PAY_TYPE=balance) until it is made or given up.

A payment that could not be made when the order was placed (services.balance_payment: CJ
unreachable, or a balance too low that may be topped up) is due again at
`payment_retry_at`: after PAYMENT_RETRY_INITIAL_SECONDS, doubling up to
PAYMENT_RETRY_MAX_SECONDS. Each attempt asks CJ for the order first (it may have been paid
in MyCJ, or a payBalanceV2 whose answer was lost may have gone through), then pays it from
the state CJ reports. The loop ends when the order is paid (`unshipped`), is no longer
payable (cancelled, paid or shipped meanwhile), CJ refuses for good, or
PAYMENT_GIVE_UP_SECONDS after the fulfillment was accepted: then `status_reason` says so,
one event records it and the store hears `payment_failed`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.client import CJClient
from app.cj.errors import CJError
from app.core.clock import utcnow
from app.core.config import Settings
from app.db.models import Fulfillment
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.session import transaction
from app.services.backoff import retry_delay
from app.services.balance_payment import PAYABLE, BalancePayer, PaymentResult
from app.services.statuses import Status, from_cj
from app.services.transitions import StatusChanges
from app.sinks.notification import NotificationEvent

log = structlog.get_logger(__name__)

SOURCE = "payment_retry"
BATCH = 20
# How many CJ timeouts one attempt may take: the order lookup, then the payment's steps.
ATTEMPT_TIMEOUTS = 5
LEASE_MARGIN_SECONDS = 10.0
RETRY_NOTE = " The service tries the payment again (until PAYMENT_GIVE_UP_SECONDS)."
NOT_NAMED = "Placed at CJ, which has not named its order id yet (non-CJ SKUs)."
_CJ_STATUS = {Status.in_cart: "IN_CART", Status.unpaid: "UNPAID", Status.unshipped: "UNSHIPPED"}


def cj_status_after(paid: PaymentResult, before: str | None) -> str | None:
    """CJ's orderStatus once the payment got as far as `paid.status`."""
    return _CJ_STATUS.get(paid.status, before)


def first_retry_at(settings: Settings, now: datetime) -> datetime:
    delay = retry_delay(
        1,
        initial=settings.payment_retry_initial_seconds,
        maximum=settings.payment_retry_max_seconds,
    )
    return now + timedelta(seconds=delay)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class PaymentRetrier:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cj: CJClient,
        settings: Settings,
        *,
        changes: StatusChanges,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cj = cj
        self._settings = settings
        self._changes = changes
        self._payer = BalancePayer(cj)

    @property
    def _budget_seconds(self) -> float:
        return self._settings.cj_timeout_seconds * ATTEMPT_TIMEOUTS

    async def retry_due(self) -> int:
        """One pass over the payments due again; how many were tried."""
        async with self._sessionmaker() as session:
            ids = await FulfillmentRepository(session).payment_due_ids(now=utcnow(), limit=BATCH)
        for fulfillment_id in ids:
            await self.retry(fulfillment_id)
        return len(ids)

    async def retry(self, fulfillment_id: str) -> Fulfillment | None:
        """Try the payment once, if it is due and no other retrier holds it."""
        now = utcnow()
        lease = timedelta(seconds=self._budget_seconds + LEASE_MARGIN_SECONDS)
        async with transaction(self._sessionmaker) as session:
            claimed = await FulfillmentRepository(session).claim_payment(
                fulfillment_id, now=now, until=now + lease
            )
        if not claimed:
            return None
        async with self._sessionmaker() as session:
            row = await FulfillmentRepository(session).get(fulfillment_id)
        if row is None or Status(row.status) not in PAYABLE:
            return await self._record(fulfillment_id, None, None)
        deadline = time.monotonic() + self._budget_seconds
        try:
            # By CJ's id, or by our orderNumber while CJ has named none (non-CJ SKUs).
            detail = await self._cj.get_order_detail(
                row.cj_order_id or row.cj_order_number, deadline=deadline
            )
        except CJError as exc:
            reason = f"Placed at CJ but not paid from the balance yet (CJ not asked: {exc})."
            return await self._record(
                fulfillment_id, PaymentResult(Status(row.status), reason, retry=True), None
            )
        cj_id = row.cj_order_id or detail.cj_id
        status = from_cj(detail.order_status)
        if status not in PAYABLE:  # paid in MyCJ, or a lost payment went through
            return await self._record(
                fulfillment_id, PaymentResult(status), detail.order_status, cj_id
            )
        if cj_id is None:
            paid = PaymentResult(status, NOT_NAMED, retry=True)
        else:
            paid = await self._payer.pay(
                cj_id,
                status,
                order_amount=detail.order_amount,
                shipment_order_id=detail.shipment_order_id,
                deadline=deadline,
            )
        return await self._record(fulfillment_id, paid, detail.order_status, cj_id)

    async def _record(
        self,
        fulfillment_id: str,
        paid: PaymentResult | None,
        cj_status: str | None,
        cj_id: str | None = None,
    ) -> Fulfillment | None:
        """Write what the attempt found; `paid` None: nothing is left to pay."""
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            row = await repository.get_for_update(fulfillment_id)
            if row is None:  # pragma: no cover - rows are never deleted
                return None
            row.payment_retry_at = None
            current = Status(row.status)
            if paid is None or current not in PAYABLE:  # moved on meanwhile
                return row
            row.cj_order_id = row.cj_order_id or cj_id
            row.cj_status = cj_status_after(paid, cj_status or row.cj_status)
            detail: dict[str, Any] = {
                "cj_order_id": row.cj_order_id,
                "cj_status": row.cj_status,
                "payment_attempt": row.payment_attempts,
            }
            if paid.reason is None:
                await self._changes.move(repository, row, paid.status, source=SOURCE, detail=detail)
                log.info("cj_payment_made_on_retry", fulfillment_id=fulfillment_id)
                return row
            waited = utcnow() - _aware(row.created_at)
            give_up = timedelta(seconds=self._settings.payment_give_up_seconds)
            if paid.retry and waited < give_up:
                row.payment_retry_at = utcnow() + timedelta(
                    seconds=retry_delay(
                        row.payment_attempts + 1,
                        initial=self._settings.payment_retry_initial_seconds,
                        maximum=self._settings.payment_retry_max_seconds,
                    )
                )
                reason = paid.reason + RETRY_NOTE
                if paid.status is not current:
                    await self._changes.move(
                        repository, row, paid.status, source=SOURCE, reason=reason, detail=detail
                    )
                else:
                    row.status_reason = reason
                return row
            reason = paid.reason
            if paid.retry:
                reason += (
                    f" The service gave up paying it {give_up.total_seconds() / 3600:g} h after "
                    "the fulfillment was accepted (PAYMENT_GIVE_UP_SECONDS): pay it in MyCJ."
                )
            detail["payment"] = reason
            log.warning("cj_payment_given_up", fulfillment_id=fulfillment_id, reason=reason)
            if paid.status is not current:
                await self._changes.move(
                    repository, row, paid.status, source=SOURCE, reason=reason, detail=detail
                )
                await self._changes.notify(repository, row, NotificationEvent.payment_failed)
            else:
                await self._changes.annotate(
                    repository,
                    row,
                    source=SOURCE,
                    reason=reason,
                    detail=detail,
                    event=NotificationEvent.payment_failed,
                )
            return row
