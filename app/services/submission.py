"""Placing a pending fulfillment at CJ, exactly once, whoever tries and however often.

The guarantees come from three rules:
- CJ's `orderNumber` is our fulfillment id, so CJ itself refuses a second order with
  1603003, and `getOrderDetail?orderId=<orderNumber>` finds the first one.
- Only the holder of the row's lease (`claimed_until`) may talk to CJ about it; the lease
  outlives the submission's deadline, so two submitters never overlap, and a crashed
  submitter's row is taken again once the lease has passed.
- Whenever an earlier attempt may have reached CJ (any earlier attempt, or an ambiguous
  failure of this one), the order is looked up by its orderNumber before anything else.

A submission ends in one of: the order is at CJ (created now, or adopted), it stays
pending (CJ unavailable; retried with backoff), or CJ refused it for good (`failed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.client import CJClient
from app.cj.errors import (
    CJAmbiguous,
    CJAuthError,
    CJBalanceInsufficient,
    CJError,
    CJLogisticInvalid,
    CJNotFound,
    CJOrderExists,
    CJParameterError,
    CJRejected,
    CJTimeout,
    CJUpstreamError,
    CJVariantNotFound,
)
from app.cj.models import CreatedOrder, CreateOrderRequest, OrderDetail, OrderProduct
from app.core.clock import utcnow
from app.core.config import PayType, Settings
from app.core.metrics import FULFILLMENT_SUBMISSIONS
from app.db.models import Fulfillment
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.session import transaction
from app.services.backoff import retry_delay
from app.services.options import OptionsCatalog
from app.services.statuses import Status, from_cj
from app.services.transitions import transition

log = structlog.get_logger(__name__)

# CJ answers 1600100 both for "interface offline" and for "Param error": not a verdict.
_NOT_A_VERDICT = frozenset({1600100})
PAY_TYPES = {PayType.create_only: 3, PayType.balance: 2}
# How long the lease outlives the submitter's deadline (database round trips, clock skew).
LEASE_MARGIN_SECONDS = 10.0


class SubmissionOutcome(StrEnum):
    created = "created"
    adopted = "adopted"
    pending = "pending"
    failed = "failed"
    skipped = "skipped"


@dataclass(frozen=True)
class PlacedOrder:
    """A CJ order that exists for our orderNumber."""

    cj_order_id: str
    cj_status: str | None
    logistic_name: str | None
    adopted: bool
    track_number: str | None = None
    tracking_url: str | None = None
    payment_note: str | None = None

    @property
    def status(self) -> Status:
        return from_cj(self.cj_status)

    @classmethod
    def of_created(cls, order: CreatedOrder, logistic_name: str) -> PlacedOrder:
        return cls(order.order_id, order.order_status, logistic_name, adopted=False)

    @classmethod
    def of_detail(cls, detail: OrderDetail, cj_id: str) -> PlacedOrder:
        return cls(
            cj_id,
            detail.order_status,
            detail.logistic_name,
            adopted=True,
            track_number=detail.track_number,
            tracking_url=detail.tracking_url,
        )


@dataclass
class Attempt:
    """What one attempt knows: whether CJ may have an order for it (until CJ says no)."""

    maybe_at_cj: bool


@dataclass(frozen=True)
class SubmissionResult:
    outcome: SubmissionOutcome
    fulfillment: Fulfillment | None


class Rejected(Exception):
    """CJ refused the order for good; the message says why, in words."""


def reason_for(exc: CJRejected, request: CreateOrderRequest) -> str:
    if isinstance(exc, CJVariantNotFound):
        return f"CJ does not sell a variant of this order (unknown or off the shelves): {exc}"
    if isinstance(exc, CJLogisticInvalid):
        return (
            f"CJ cannot ship this order from {request.from_country_code} to "
            f"{request.shipping_country_code} with {request.logistic_name}: {exc}"
        )
    if isinstance(exc, CJBalanceInsufficient):
        return (
            "The CJ balance cannot pay this order; top up the balance (or pay in MyCJ) and "
            f"send the fulfillment again: {exc}"
        )
    if isinstance(exc, CJParameterError):
        return f"CJ refused the order's data: {exc}"
    return f"CJ refused the order: {exc}"


def is_verdict(exc: CJError) -> bool:
    """A refusal about this order (not about our credentials, not a vague code)."""
    return (
        isinstance(exc, CJRejected)
        and not isinstance(exc, CJAuthError)
        and exc.code not in _NOT_A_VERDICT
    )


class Submitter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cj: CJClient,
        options: OptionsCatalog,
        settings: Settings,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cj = cj
        self._options = options
        self._settings = settings

    @property
    def worker_budget_seconds(self) -> float:
        """A worker's submission: a lookup, a create and a payment, each one CJ timeout."""
        return self._settings.cj_timeout_seconds * 3

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.worker_budget_seconds + LEASE_MARGIN_SECONDS)

    async def claim(self, fulfillment_id: str) -> bool | None:
        """Take the row's lease (committed); whether an earlier attempt may have reached
        CJ, or None when the row is not pending or is held by someone else."""
        now = utcnow()
        async with transaction(self._sessionmaker) as session:
            return await FulfillmentRepository(session).claim(
                fulfillment_id, now=now, until=now + self.lease
            )

    async def submit_claimed(
        self, fulfillment_id: str, *, maybe_at_cj: bool, deadline: float, source: str
    ) -> SubmissionResult:
        """Place a row whose lease we hold, and give the lease back. (Should something
        unexpected fail, the lease runs out and the row is taken again, looked up first.)"""
        async with self._sessionmaker() as session:
            fulfillment = await FulfillmentRepository(session).get_with_items(fulfillment_id)
        if fulfillment is None:
            return SubmissionResult(SubmissionOutcome.skipped, None)
        bound = log.bind(
            fulfillment_id=fulfillment_id, order_number=fulfillment.cj_order_number, source=source
        )
        attempt = Attempt(maybe_at_cj=maybe_at_cj)
        try:
            placed = await self._place(fulfillment, attempt, deadline=deadline)
        except Rejected as exc:
            bound.warning("fulfillment_rejected_by_cj", reason=str(exc))
            return await self._record_failed(fulfillment_id, str(exc), source)
        except CJError as exc:
            bound.info("fulfillment_submission_deferred", error=str(exc), kind=type(exc).__name__)
            if isinstance(exc, CJAuthError):
                bound.error("cj_not_authenticated", error=str(exc))
            return await self._record_retry(fulfillment_id, exc, attempt.maybe_at_cj, source)
        outcome = SubmissionOutcome.adopted if placed.adopted else SubmissionOutcome.created
        bound.info(
            "fulfillment_placed_at_cj",
            cj_order_id=placed.cj_order_id,
            cj_status=placed.cj_status,
            adopted=placed.adopted,
        )
        return await self._record_placed(fulfillment_id, placed, outcome, source)

    # CJ

    async def _place(
        self, fulfillment: Fulfillment, attempt: Attempt, deadline: float
    ) -> PlacedOrder:
        number = fulfillment.cj_order_number
        if attempt.maybe_at_cj:
            found = await self._lookup(number, deadline, attempt)
            if found is not None:
                return await self._settle_payment(found, deadline)
        refusals: list[str] = []
        for logistic in self._logistics(fulfillment):
            request = self._order_request(fulfillment, logistic)
            try:
                created = await self._cj.create_order_v2(request, deadline=deadline)
            except CJOrderExists:
                attempt.maybe_at_cj = True
                found = await self._lookup(number, deadline, attempt)
                if found is None:
                    attempt.maybe_at_cj = True
                    raise CJUpstreamError("CJ says the order exists but cannot find it") from None
                return await self._settle_payment(found, deadline)
            except (CJAmbiguous, CJTimeout) as exc:
                if isinstance(exc, CJTimeout) and exc.code is None:
                    raise  # no connection was made: nothing reached CJ
                attempt.maybe_at_cj = True
                found = await self._lookup(number, deadline, attempt)
                if found is None:
                    # Not at CJ now, but the request may still land late: stay uncertain
                    # (a retry that meets it gets 1603003 and adopts it; a cancel asks CJ).
                    attempt.maybe_at_cj = True
                    raise
                return await self._settle_payment(found, deadline)
            except CJLogisticInvalid as exc:
                # Nothing was stored at CJ; the option's next logistic may serve the route.
                refusals.append(reason_for(exc, request))
                continue
            except CJRejected as exc:
                if not is_verdict(exc):
                    raise
                raise Rejected(reason_for(exc, request)) from exc
            placed = PlacedOrder.of_created(created, logistic)
            return await self._settle_payment(placed, deadline)
        raise Rejected("; ".join(refusals))

    async def _lookup(
        self, order_number: str, deadline: float, attempt: Attempt
    ) -> PlacedOrder | None:
        try:
            detail = await self._cj.get_order_detail(order_number, deadline=deadline)
        except CJNotFound:
            attempt.maybe_at_cj = False
            return None
        cj_id = detail.cj_id
        if cj_id is None:
            raise CJUpstreamError("CJ returned the order without its id")
        return PlacedOrder.of_detail(detail, cj_id)

    async def _settle_payment(self, placed: PlacedOrder, deadline: float) -> PlacedOrder:
        """In balance mode CJ pays at creation (payType 2); an order found unpaid (adopted,
        or CJ skipped the payment) is confirmed and paid here. A payment that fails leaves
        the order at CJ, unpaid, with a note; it is never a reason to create another."""
        if self._settings.cj_pay_type is not PayType.balance:
            return placed
        status = placed.status
        if status not in (Status.created, Status.in_cart, Status.unpaid):
            return placed
        try:
            if status is not Status.unpaid:
                await self._cj.confirm_order(placed.cj_order_id, deadline=deadline)
                status = Status.unpaid
            await self._cj.pay_balance(placed.cj_order_id, deadline=deadline)
            status = Status.unshipped
        except CJError as exc:
            log.warning("cj_payment_failed", cj_order_id=placed.cj_order_id, error=str(exc))
            return _with(placed, status, f"Placed at CJ but not paid from the balance: {exc}")
        return _with(placed, status, None)

    def _logistics(self, fulfillment: Fulfillment) -> list[str]:
        option = self._options.get(fulfillment.option_id)
        if option is not None:
            return list(option.logistics)
        if fulfillment.logistic_name:  # the option was removed from OPTIONS_FILE since
            return [fulfillment.logistic_name]
        raise Rejected(f"Option {fulfillment.option_id!r} no longer exists and names no logistic.")

    def _order_request(self, fulfillment: Fulfillment, logistic: str) -> CreateOrderRequest:
        address: dict[str, Any] = fulfillment.shipping_address
        return CreateOrderRequest(
            order_number=fulfillment.cj_order_number,
            shipping_country_code=address["country_code"],
            shipping_country=address["country"],
            # CJ requires a province; where addresses have none, the city stands in.
            shipping_province=address.get("province") or address["city"],
            shipping_city=address["city"],
            shipping_customer_name=address["name"],
            shipping_address=address["address1"],
            shipping_address2=address.get("address2"),
            shipping_zip=address.get("zip"),
            shipping_phone=address.get("phone"),
            email=address.get("email"),
            logistic_name=logistic,
            from_country_code=fulfillment.from_country,
            products=[
                OrderProduct(
                    vid=item.vid, quantity=item.quantity, store_line_item_id=item.line_item_id
                )
                for item in fulfillment.items
            ],
            pay_type=PAY_TYPES[self._settings.cj_pay_type],
            is_sandbox=1 if self._settings.cj_sandbox else None,
        )

    # Database

    async def _record_placed(
        self, fulfillment_id: str, placed: PlacedOrder, outcome: SubmissionOutcome, source: str
    ) -> SubmissionResult:
        orphan = False
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            row = await repository.get_for_update(fulfillment_id)
            if row is None:  # pragma: no cover - rows are never deleted
                return SubmissionResult(SubmissionOutcome.skipped, None)
            orphan = row.status == Status.cancelled and row.cj_order_id is None
            row.cj_order_id = row.cj_order_id or placed.cj_order_id
            row.cj_status = placed.cj_status or row.cj_status
            row.logistic_name = placed.logistic_name or row.logistic_name
            if placed.track_number and not row.tracking:
                row.tracking = [
                    {"number": placed.track_number, "carrier": None, "url": placed.tracking_url}
                ]
            _release(row)
            await transition(
                repository,
                row,
                placed.status,
                source=source,
                reason=placed.payment_note,
                detail={
                    "cj_order_id": placed.cj_order_id,
                    "cj_status": placed.cj_status,
                    "adopted": placed.adopted,
                },
            )
            result = SubmissionResult(outcome, row)
        if orphan:
            await self._delete_orphan(fulfillment_id, placed)
        FULFILLMENT_SUBMISSIONS.labels(source=source, outcome=outcome).inc()
        return result

    async def _delete_orphan(self, fulfillment_id: str, placed: PlacedOrder) -> None:
        """The row was cancelled while its submission outlived the lease (it cannot happen
        while deadlines hold): the order CJ has is deleted rather than left to ship."""
        log.error(
            "cj_order_for_cancelled_fulfillment",
            fulfillment_id=fulfillment_id,
            cj_order_id=placed.cj_order_id,
        )
        try:
            await self._cj.delete_order(placed.cj_order_id)
        except CJError as exc:
            log.error("cj_orphan_order_not_deleted", cj_order_id=placed.cj_order_id, error=str(exc))

    async def _record_failed(
        self, fulfillment_id: str, reason: str, source: str
    ) -> SubmissionResult:
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            row = await repository.get_for_update(fulfillment_id)
            if row is None:  # pragma: no cover
                return SubmissionResult(SubmissionOutcome.skipped, None)
            _release(row)
            row.last_error = reason
            row.may_be_at_cj = False
            await transition(repository, row, Status.failed, source=source, reason=reason)
            result = SubmissionResult(SubmissionOutcome.failed, row)
        FULFILLMENT_SUBMISSIONS.labels(source=source, outcome=SubmissionOutcome.failed).inc()
        return result

    async def _record_retry(
        self, fulfillment_id: str, error: CJError, maybe_at_cj: bool, source: str
    ) -> SubmissionResult:
        async with transaction(self._sessionmaker) as session:
            row = await FulfillmentRepository(session).get_for_update(fulfillment_id)
            if row is None:  # pragma: no cover
                return SubmissionResult(SubmissionOutcome.skipped, None)
            _release(row)
            delay = retry_delay(
                row.attempts,
                initial=self._settings.submit_retry_initial_seconds,
                maximum=self._settings.submit_retry_max_seconds,
            )
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            row.last_error = f"{type(error).__name__}: {error}"
            row.may_be_at_cj = maybe_at_cj
            result = SubmissionResult(SubmissionOutcome.pending, row)
        FULFILLMENT_SUBMISSIONS.labels(source=source, outcome=SubmissionOutcome.pending).inc()
        return result


def _release(row: Fulfillment) -> None:
    row.claimed_until = None
    row.next_attempt_at = None


def _with(placed: PlacedOrder, status: Status, note: str | None) -> PlacedOrder:
    cj_status = {Status.unpaid: "UNPAID", Status.unshipped: "UNSHIPPED"}.get(
        status, placed.cj_status
    )
    return PlacedOrder(
        placed.cj_order_id,
        cj_status,
        placed.logistic_name,
        adopted=placed.adopted,
        track_number=placed.track_number,
        tracking_url=placed.tracking_url,
        payment_note=note,
    )
