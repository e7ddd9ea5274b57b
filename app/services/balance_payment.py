"""Paying a placed CJ order from the account balance (CJ_PAY_TYPE=balance).

CJ's current flow for parent orders (seed 004 §1.3-1.5, §2.3): the order is created only
(payType 3), then addCart → addCartConfirm (the order becomes UNPAID; `shipmentsId` is
its parent order) → saveGenerateParentOrder (the `payId` and the amount) →
payBalanceV2(shipmentOrderId, payId). The balance (getBalance) is read first and compared
with the order's amount, and again with the parent order's: when it cannot pay, nothing
more is sent and the store is told so while the order is still CREATED (deletable, so a
cancel still works), before CJ would refuse it.

A payment that cannot be made leaves the order at CJ where it got to, with the reason,
and is never a reason to create another order. `retry` says whether trying again later
can work (CJ unreachable, or a balance that may be topped up: services.payment_retry
does, until PAYMENT_GIVE_UP_SECONDS); a refusal CJ would repeat is final (pay it in MyCJ,
or cancel it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from app.cj.client import CJClient
from app.cj.errors import CJBalanceInsufficient, CJError, CJUnavailable
from app.services.statuses import Status

log = structlog.get_logger(__name__)

PAYABLE = frozenset({Status.created, Status.in_cart, Status.unpaid})
# CJ's 1604001 "balance payment restricted; pay in MyCJ": a top-up does not help.
PAYMENT_RESTRICTED = 1604001


@dataclass(frozen=True)
class PaymentResult:
    """Where the order stands at CJ after the attempt, and why it is not paid (None: paid).
    `insufficient`: the balance cannot pay it; `retry`: a later attempt may pay it. The
    store gets `payment_failed` for a balance too low and for a payment that is final."""

    status: Status
    reason: str | None = None
    insufficient: bool = False
    retry: bool = False

    @property
    def tells_store(self) -> bool:
        return self.reason is not None and (self.insufficient or not self.retry)


def _short(balance: Decimal, amount: Decimal, status: Status) -> PaymentResult:
    where = (
        "It waits at CJ unconfirmed: top up the balance or pay it in MyCJ, or cancel the "
        "fulfillment"
        if status in (Status.created, Status.in_cart)
        else "It waits at CJ unpaid: top up the balance or pay it in MyCJ"
    )
    return PaymentResult(
        status,
        f"Insufficient CJ balance: {balance:.2f} USD cannot pay this order's {amount:.2f} USD. "
        f"{where}.",
        insufficient=True,
        retry=True,
    )


class BalancePayer:
    def __init__(self, cj: CJClient) -> None:
        self._cj = cj

    async def pay(
        self,
        cj_order_id: str,
        status: Status,
        *,
        order_amount: Decimal | None,
        shipment_order_id: str | None,
        deadline: float,
    ) -> PaymentResult:
        reached = status
        try:
            balance = (await self._cj.get_balance(deadline=deadline)).amount
            if balance is not None and order_amount is not None and balance < order_amount:
                return _short(balance, order_amount, reached)
            if reached is Status.created:
                added = await self._cj.add_cart([cj_order_id], deadline=deadline)
                if cj_order_id not in added.added:
                    return PaymentResult(
                        reached, _intercepted("add it to the cart", added.intercepted)
                    )
                reached = Status.in_cart
            if reached is Status.in_cart:
                confirmed = await self._cj.add_cart_confirm([cj_order_id], deadline=deadline)
                if not confirmed.success_count:
                    return PaymentResult(reached, _intercepted("confirm it", confirmed.intercepted))
                reached = Status.unpaid
                shipment_order_id = confirmed.shipments_id or shipment_order_id
            # No parent named (the sample's shipmentsId is ""): seed 004's samples use the
            # order's own id as the shipmentOrderId (§1.3 and §1.5 name the same order).
            shipment_order_id = shipment_order_id or cj_order_id
            parent = await self._cj.save_generate_parent_order(shipment_order_id, deadline=deadline)
            amount = parent.order_money
            if balance is not None and amount is not None and balance < amount:
                return _short(balance, amount, reached)
            await self._cj.pay_balance_v2(shipment_order_id, parent.pay_id, deadline=deadline)
        except CJBalanceInsufficient as exc:
            log.warning("cj_payment_refused_balance", cj_order_id=cj_order_id, error=str(exc))
            if exc.code == PAYMENT_RESTRICTED:
                return PaymentResult(
                    reached, f"CJ restricts balance payment ({exc}): pay it in MyCJ."
                )
            return PaymentResult(
                reached,
                f"Insufficient CJ balance, says CJ ({exc}): top up the balance or pay it in MyCJ.",
                insufficient=True,
                retry=True,
            )
        except CJUnavailable as exc:
            log.warning("cj_payment_deferred", cj_order_id=cj_order_id, error=str(exc))
            return PaymentResult(
                reached,
                f"Placed at CJ but not paid from the balance yet ({exc}).",
                retry=True,
            )
        except CJError as exc:
            log.warning("cj_payment_failed", cj_order_id=cj_order_id, error=str(exc))
            return PaymentResult(
                reached,
                f"Placed at CJ but CJ refused the balance payment ({exc}); pay it in MyCJ.",
            )
        return PaymentResult(Status.unshipped)


def _intercepted(step: str, intercepted: list[Any]) -> str:
    stopped = ", ".join(str(i) for i in intercepted) or "no reason given"
    return f"Placed at CJ, but CJ would not {step} for payment ({stopped}); pay it in MyCJ."
