"""Order state changes shared by the API (pay, sandbox) and the control API (advance)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from cjsim import catalog, envelope
from cjsim.envelope import CJError
from cjsim.models import (
    CANCELLED,
    DELIVERED,
    ORDER_FLOW,
    SHIPPED,
    UNSHIPPED,
    Order,
)
from cjsim.state import SimState


def charge_balance(state: SimState, orders: Iterable[Order]) -> None:
    """Pay orders from the balance (sandbox orders are paid for free). All or nothing."""
    batch = list(orders)
    due = sum((o.order_amount for o in batch if not o.is_sandbox), start=Decimal(0))
    if due > state.config.balance:
        raise CJError(envelope.BALANCE_INSUFFICIENT)
    state.config.balance = envelope.money(state.config.balance - due)
    for order in batch:
        mark_paid(state, order)


def mark_paid(state: SimState, order: Order) -> None:
    now = state.utcnow()
    order.status = UNSHIPPED
    order.paid_at = order.paid_at or now
    order.updated_at = now
    if order.is_sandbox:
        order.sandbox_status = 300


def assign_track_number(state: SimState, order: Order, track_number: str | None) -> None:
    if track_number:
        order.track_number = track_number
    elif not order.track_number:
        order.track_number = catalog.make_track_number(order.logistic_name, state.next_track_seq())


class TransitionError(ValueError):
    """The requested move would take an order backwards or out of a final state."""


def advance(state: SimState, order: Order, target: str, track_number: str | None) -> None:
    """Move `order` forward to `target` (CJ status name), filling dates and tracking.

    Moving to the current status is allowed (it re-sends the webhooks); moving backwards,
    or anywhere from CANCELLED, is not. CANCELLED is reachable from any state before
    DELIVERED.
    """
    current = order.status
    if target == CANCELLED:
        if current == DELIVERED:
            raise TransitionError("a delivered order cannot be cancelled")
    elif current == CANCELLED:
        if target != CANCELLED:
            raise TransitionError("a cancelled order cannot move")
    elif ORDER_FLOW.index(target) < ORDER_FLOW.index(current):
        raise TransitionError(f"cannot move an order back from {current} to {target}")

    now = state.utcnow()
    order.status = target
    order.updated_at = now
    if target in (UNSHIPPED, SHIPPED, DELIVERED):
        order.paid_at = order.paid_at or now
    if target in (SHIPPED, DELIVERED):
        assign_track_number(state, order, track_number)
        order.shipped_at = order.shipped_at or now
    elif track_number:
        order.track_number = track_number
    if target == DELIVERED:
        order.delivered_at = order.delivered_at or now
