"""Fulfillment statuses: their order, and how CJ's order statuses map onto them.

`pending` is ours (not yet at CJ); then CJ's lifecycle, in order; `cancelled` and
`failed` are terminal. A status only moves forward: a late or repeated report never
moves it back, and nothing leaves a terminal status.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    pending = "pending"
    created = "created"
    in_cart = "in_cart"
    unpaid = "unpaid"
    unshipped = "unshipped"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    failed = "failed"


FLOW = (
    Status.pending,
    Status.created,
    Status.in_cart,
    Status.unpaid,
    Status.unshipped,
    Status.shipped,
    Status.delivered,
)
TERMINAL = frozenset({Status.cancelled, Status.failed})
# CJ deletes an order only before it is confirmed (seed 004 §1.8: CREATED and IN_CART);
# an UNPAID (confirmed) order is cancelled by the merchant in MyCJ.
DELETABLE_AT_CJ = frozenset({Status.created, Status.in_cart})
CONFIRMED_UNPAID = frozenset({Status.unpaid})
PAID = frozenset({Status.unshipped})
SHIPPED_OR_LATER = frozenset({Status.shipped, Status.delivered})

_CJ_STATUSES = {
    "CREATED": Status.created,
    "IN_CART": Status.in_cart,
    "UNPAID": Status.unpaid,
    "UNSHIPPED": Status.unshipped,
    "SHIPPED": Status.shipped,
    "DELIVERED": Status.delivered,
    "CANCELLED": Status.cancelled,
    # Numeric states of sandbox and split orders (300 = paid; 400-700 in sequence).
    "300": Status.unshipped,
    "400": Status.unshipped,
    "500": Status.shipped,
    "600": Status.delivered,
}


def from_cj(order_status: str | None) -> Status:
    """Our status for CJ's `orderStatus`. The order exists at CJ, so anything CJ says that
    is not known here (CJ's statuses are an open set) counts as `created`."""
    return _CJ_STATUSES.get((order_status or "").strip().upper(), Status.created)


def can_move(current: Status, target: Status) -> bool:
    """Forward only; `cancelled` from any open status; `failed` only before CJ has it."""
    if current in TERMINAL or current == target:
        return False
    if target == Status.failed:
        return current == Status.pending
    if target == Status.cancelled:
        return True
    return FLOW.index(target) > FLOW.index(current)
