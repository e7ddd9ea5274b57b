"""Placing a pending fulfillment at CJ, exactly once, whoever tries and however often.

The guarantees come from three rules:
- CJ's `orderNumber` is our fulfillment id, so CJ itself refuses a second order with
  1603003, and `getOrderDetail?orderId=<orderNumber>` finds the first one.
- Only the holder of the row's lease (`claimed_until`) may talk to CJ about it; the lease
  outlives the submission's deadline, so two submitters never overlap, and a crashed
  submitter's row is taken again once the lease has passed.
- Whenever an earlier attempt may have reached CJ (any earlier attempt, or an ambiguous
  failure of this one), the order is looked up by its orderNumber before anything else.

A submission ends in one of: the order is at CJ (created now, or adopted; an order CJ
intercepts says why in `status_reason` and tells the store; in balance mode it is then
paid, or says why it cannot be), it stays pending (CJ
unavailable; retried with backoff, until SUBMIT_GIVE_UP_SECONDS after the fulfillment was
accepted), or it is `failed` with the reason: CJ refused it for good, a field is longer
than CJ accepts, or CJ could not take it in time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
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
    may_have_reached_cj,
)
from app.cj.models import CreateOrderRequest
from app.cj.translate import (
    CJOrder,
    FieldTooLong,
    create_order_request,
    placed_from_created,
    placed_from_detail,
    too_long,
)
from app.core.clock import utcnow
from app.core.config import PayType, Settings
from app.core.metrics import FULFILLMENT_SUBMISSIONS
from app.db.models import Fulfillment
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.session import transaction
from app.services.backoff import retry_delay
from app.services.balance_payment import PAYABLE, BalancePayer, PaymentResult
from app.services.options import OptionsCatalog
from app.services.payment_retry import RETRY_NOTE, cj_status_after, first_retry_at
from app.services.statuses import Status, from_cj
from app.services.transitions import StatusChanges
from app.sinks.notification import NotificationEvent

log = structlog.get_logger(__name__)

# Both create only: in balance mode this service pays (services.balance_payment), so it
# reads the balance first and says when it cannot pay, before CJ does.
PAY_TYPES = {PayType.create_only: 3, PayType.balance: 3}
# How many CJ timeouts paying may take after the order is placed (balance, cart, confirm,
# parent order, payBalanceV2, at the orders priority of the shared limiter).
PAYMENT_BUDGET_TIMEOUTS = 4
# How long the lease outlives the submitter's deadline (database round trips, clock skew).
LEASE_MARGIN_SECONDS = 10.0


class SubmissionOutcome(StrEnum):
    created = "created"
    adopted = "adopted"
    pending = "pending"
    failed = "failed"
    skipped = "skipped"


NO_ORDER_ID_YET = (
    "CJ has the order under its orderNumber but gave no CJ order id yet (non-CJ SKUs: "
    "the id comes with CJ's ORDER webhook)."
)
NOT_PAID_WITHOUT_ID = (
    "It is paid from the balance once CJ names its order id (CJ's cart takes CJ ids): the "
    "payment is tried again, the order looked up by its orderNumber."
)


@dataclass(frozen=True)
class PlacedOrder:
    """A CJ order that exists for our orderNumber, and how we came to know it."""

    order: CJOrder
    adopted: bool
    payment_note: str | None = None
    # The balance cannot pay it, or the payment is final: the store hears `payment_failed`.
    payment_failed: bool = False
    # The payment may work later: services.payment_retry tries it again.
    payment_retry: bool = False

    @property
    def cj_order_id(self) -> str | None:
        return self.order.cj_order_id

    @property
    def cj_status(self) -> str | None:
        return self.order.cj_status

    @property
    def status(self) -> Status:
        return from_cj(self.order.cj_status)

    @property
    def reason(self) -> str | None:
        """What the store should know about the placed order, in words."""
        notes = [self.order.interception, self.payment_note]
        if self.order.cj_order_id is None:
            notes.append(NO_ORDER_ID_YET)
        return " ".join(note for note in notes if note) or None


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


def too_long_reason(problems: list[FieldTooLong]) -> str:
    return "The order has fields longer than CJ accepts: " + "; ".join(
        f"{p.source_field}: {p.message}" for p in problems
    )


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
    """A refusal about this order (not about our credentials). CJ's 1600100 "Param error"
    is one (its "interface offline" reading is typed CJUpstreamError by the client)."""
    return isinstance(exc, CJRejected) and not isinstance(exc, CJAuthError)


class Submitter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cj: CJClient,
        options: OptionsCatalog,
        settings: Settings,
        *,
        changes: StatusChanges,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cj = cj
        self._options = options
        self._settings = settings
        self._changes = changes
        self._payer = BalancePayer(cj)

    @property
    def worker_budget_seconds(self) -> float:
        """A worker's submission: a lookup, a create and a payment, each one CJ timeout."""
        return self._settings.cj_timeout_seconds * 3

    @property
    def lease(self) -> timedelta:
        """Outlives the submission and, in balance mode, the payment's own budget."""
        paying = self._settings.cj_pay_type is PayType.balance
        payment = self._settings.cj_timeout_seconds * PAYMENT_BUDGET_TIMEOUTS if paying else 0
        return timedelta(seconds=self.worker_budget_seconds + payment + LEASE_MARGIN_SECONDS)

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
            problems = too_long(request)
            if problems:  # stored before these limits were checked at the API
                raise Rejected(too_long_reason(problems))
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
                if not may_have_reached_cj(exc):
                    raise
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
            placed = PlacedOrder(placed_from_created(created, logistic), adopted=False)
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
        return PlacedOrder(placed_from_detail(detail), adopted=True)

    async def _settle_payment(self, placed: PlacedOrder, deadline: float) -> PlacedOrder:
        """In balance mode, pay the order now (services.balance_payment), within a budget
        of its own that starts when the order is placed (the lease covers it). An
        intercepted order is not paid: the merchant resolves it in MyCJ first."""
        if (
            self._settings.cj_pay_type is not PayType.balance
            or placed.order.interception
            or placed.status not in PAYABLE
        ):
            return placed
        if placed.cj_order_id is None:  # CJ's cart takes CJ ids; this order has none yet
            return replace(placed, payment_note=NOT_PAID_WITHOUT_ID, payment_retry=True)
        budget = self._settings.cj_timeout_seconds * PAYMENT_BUDGET_TIMEOUTS
        paid = await self._payer.pay(
            placed.cj_order_id,
            placed.status,
            order_amount=placed.order.order_amount,
            shipment_order_id=placed.order.shipment_order_id,
            deadline=max(deadline, time.monotonic() + budget),
        )
        return _with(placed, paid)

    def _logistics(self, fulfillment: Fulfillment) -> list[str]:
        option = self._options.get(fulfillment.option_id)
        if option is not None:
            return list(option.logistics)
        if fulfillment.logistic_name:  # the option was removed from OPTIONS_FILE since
            return [fulfillment.logistic_name]
        raise Rejected(f"Option {fulfillment.option_id!r} no longer exists and names no logistic.")

    def _order_request(self, fulfillment: Fulfillment, logistic: str) -> CreateOrderRequest:
        return create_order_request(
            fulfillment,
            logistic,
            pay_type=PAY_TYPES[self._settings.cj_pay_type],
            sandbox=self._settings.cj_sandbox,
        )

    def fields_too_long(self, fulfillment: Fulfillment) -> list[FieldTooLong]:
        """The fields of the createOrder bodies this fulfillment would send that are longer
        than CJ accepts (checked before the fulfillment is stored)."""
        found: dict[str, FieldTooLong] = {}
        for logistic in self._logistics(fulfillment):
            for problem in too_long(self._order_request(fulfillment, logistic)):
                found.setdefault(problem.cj_field, problem)
        return list(found.values())

    # Database

    async def _record_placed(
        self, fulfillment_id: str, placed: PlacedOrder, outcome: SubmissionOutcome, source: str
    ) -> SubmissionResult:
        orphan = False
        async with self._released(fulfillment_id) as (repository, row):
            if row is None:  # pragma: no cover - rows are never deleted
                return SubmissionResult(SubmissionOutcome.skipped, None)
            orphan = row.status == Status.cancelled and row.cj_order_id is None
            order = placed.order
            row.cj_order_id = row.cj_order_id or order.cj_order_id
            row.cj_status = order.cj_status or row.cj_status
            row.logistic_name = order.logistic_name or row.logistic_name
            if order.track_number and not row.tracking:
                row.tracking = [
                    {"number": order.track_number, "carrier": None, "url": order.tracking_url}
                ]
            detail: dict[str, Any] = {
                "cj_order_id": order.cj_order_id,
                "cj_status": order.cj_status,
                "adopted": placed.adopted,
            }
            if order.interception:
                detail["intercepted"] = order.interception
            if placed.payment_note:
                detail["payment"] = placed.payment_note
            moved = await self._changes.move(
                repository, row, placed.status, source=source, reason=placed.reason, detail=detail
            )
            if moved and order.interception:
                await self._changes.notify(repository, row, NotificationEvent.intercepted)
            if moved and placed.payment_failed:
                await self._changes.notify(repository, row, NotificationEvent.payment_failed)
            if placed.payment_retry:
                row.payment_retry_at = first_retry_at(self._settings, utcnow())
            result = SubmissionResult(outcome, row)
        if orphan:
            await self._delete_orphan(fulfillment_id, placed, row.cj_order_number)
        FULFILLMENT_SUBMISSIONS.labels(source=source, outcome=outcome).inc()
        return result

    async def _delete_orphan(
        self, fulfillment_id: str, placed: PlacedOrder, order_number: str
    ) -> None:
        """The row was cancelled while its submission outlived the lease (it cannot happen
        while deadlines hold): the order CJ has is deleted rather than left to ship."""
        log.error(
            "cj_order_for_cancelled_fulfillment",
            fulfillment_id=fulfillment_id,
            cj_order_id=placed.cj_order_id,
        )
        try:
            await self._cj.delete_order(placed.cj_order_id or order_number)
        except CJError as exc:
            log.error("cj_orphan_order_not_deleted", cj_order_id=placed.cj_order_id, error=str(exc))

    @asynccontextmanager
    async def _released(
        self, fulfillment_id: str
    ) -> AsyncIterator[tuple[FulfillmentRepository, Fulfillment | None]]:
        """The fulfillment's row, locked in a transaction of its own and released from this
        attempt's claim (None if it is gone), for recording how the attempt ended."""
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            row = await repository.get_for_update(fulfillment_id)
            if row is not None:
                _release(row)
            yield repository, row

    async def _record_failed(
        self, fulfillment_id: str, reason: str, source: str
    ) -> SubmissionResult:
        async with self._released(fulfillment_id) as (repository, row):
            if row is None:  # pragma: no cover - rows are never deleted
                return SubmissionResult(SubmissionOutcome.skipped, None)
            row.last_error = reason
            row.may_be_at_cj = False
            await self._changes.move(repository, row, Status.failed, source=source, reason=reason)
            result = SubmissionResult(SubmissionOutcome.failed, row)
        FULFILLMENT_SUBMISSIONS.labels(source=source, outcome=SubmissionOutcome.failed).inc()
        return result

    async def _record_retry(
        self, fulfillment_id: str, error: CJError, maybe_at_cj: bool, source: str
    ) -> SubmissionResult:
        async with self._released(fulfillment_id) as (repository, row):
            if row is None:  # pragma: no cover - rows are never deleted
                return SubmissionResult(SubmissionOutcome.skipped, None)
            give_up = timedelta(seconds=self._settings.submit_give_up_seconds)
            if utcnow() - _aware(row.created_at) >= give_up:
                reason = gave_up_reason(error, give_up, maybe_at_cj, row.cj_order_number)
                row.last_error = f"{type(error).__name__}: {error}"
                row.may_be_at_cj = maybe_at_cj
                await self._changes.move(
                    repository, row, Status.failed, source=source, reason=reason
                )
                result = SubmissionResult(SubmissionOutcome.failed, row)
                FULFILLMENT_SUBMISSIONS.labels(
                    source=source, outcome=SubmissionOutcome.failed
                ).inc()
                log.error("fulfillment_submission_given_up", fulfillment_id=fulfillment_id)
                return result
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


def _with(placed: PlacedOrder, paid: PaymentResult) -> PlacedOrder:
    note = paid.reason + RETRY_NOTE if paid.reason and paid.retry else paid.reason
    return replace(
        placed,
        order=replace(placed.order, cj_status=cj_status_after(paid, placed.cj_status)),
        payment_note=note,
        payment_failed=paid.tells_store,
        payment_retry=paid.retry,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def gave_up_reason(error: CJError, waited: timedelta, maybe_at_cj: bool, order_number: str) -> str:
    hours = waited.total_seconds() / 3600
    reason = (
        f"CJ could not take the order within {hours:g} h (SUBMIT_GIVE_UP_SECONDS); "
        f"the last answer was: {error}."
    )
    if maybe_at_cj:
        reason += (
            f" An attempt may have reached CJ: look for order number {order_number} in MyCJ "
            "before sending the fulfillment again."
        )
    else:
        reason += " Nothing reached CJ; send the fulfillment again."
    return reason
