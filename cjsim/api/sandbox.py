"""Sandbox order simulation: simulatePay, updateStatus (300→400→500→600→700), track numbers.

Only orders created with `isSandbox:1` qualify (code 811 otherwise). Numeric states map to
order statuses: 300/400 UNSHIPPED, 500 SHIPPED (a track number is generated), 600 and 700
(closed) DELIVERED. These endpoints do not send webhooks; `/_sim/orders/{id}/advance` does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from cjsim import envelope, lifecycle
from cjsim.api.common import PREFIX, account, body_json, opt_int, opt_str, req_str, sim
from cjsim.envelope import CJError
from cjsim.models import CANCELLED, CREATED, DELIVERED, IN_CART, SHIPPED, UNPAID, UNSHIPPED, Order
from cjsim.state import Account, SimState

router = APIRouter(prefix=f"{PREFIX}/shopping/sandbox")

SANDBOX_FLOW = {400: UNSHIPPED, 500: SHIPPED, 600: DELIVERED, 700: DELIVERED}
MAX_TRACK_NUMBER = 64


def _sandbox_orders(state: SimState, acc: Account, body: dict[str, Any]) -> list[Order]:
    order_id = opt_str(body, "orderId")
    shipment_id = opt_str(body, "shipmentOrderId")
    if order_id is None and shipment_id is None:
        raise envelope.param_empty("orderId")
    if order_id is not None:
        found = state.find_order(order_id)
        orders = [found] if found is not None else []
    else:
        orders = state.find_by_shipment(shipment_id or "")
    orders = [o for o in orders if o.api_key == acc.api_key]
    if not orders:
        raise CJError(envelope.SANDBOX_ORDER_MISSING)
    if not all(o.is_sandbox for o in orders):
        raise CJError(envelope.SANDBOX_NOT_SANDBOX)
    return orders


@router.post("/simulatePay")
async def simulate_pay(request: Request) -> Response:
    state = sim(request)
    body = await body_json(request)
    async with state.lock:
        orders = _sandbox_orders(state, account(request), body)
        if any(o.status not in (CREATED, IN_CART, UNPAID) for o in orders):
            raise CJError(envelope.SANDBOX_UNPAID_OR_CLOSED, "Order is already paid or closed")
        for order in orders:
            lifecycle.mark_paid(state, order)
    return envelope.ok(True)


@router.post("/updateStatus")
async def update_status(request: Request) -> Response:
    state = sim(request)
    body = await body_json(request)
    req_str(body, "orderId")
    target = opt_int(body, "targetStatus")
    if target is None:
        raise envelope.param_empty("targetStatus")
    async with state.lock:
        (order,) = _sandbox_orders(state, account(request), {"orderId": body["orderId"]})
        if order.sandbox_status is None or order.status == CANCELLED:
            raise CJError(envelope.SANDBOX_UNPAID_OR_CLOSED)
        if target not in SANDBOX_FLOW or target != order.sandbox_status + 100:
            raise CJError(
                envelope.PARAM_ERROR,
                f"status can only flow 300→400→500→600→700 (current {order.sandbox_status})",
            )
        lifecycle.advance(state, order, SANDBOX_FLOW[target], None)
        order.sandbox_status = target
    return envelope.ok(True)


@router.post("/updateTrackNumber")
async def update_track_number(request: Request) -> Response:
    state = sim(request)
    body = await body_json(request)
    req_str(body, "orderId")
    track_number = req_str(body, "trackNumber")
    if len(track_number) > MAX_TRACK_NUMBER:
        raise CJError(envelope.PARAM_ERROR, "trackNumber length cannot exceed 64")
    async with state.lock:
        (order,) = _sandbox_orders(state, account(request), {"orderId": body["orderId"]})
        order.track_number = track_number
        order.updated_at = state.utcnow()
    return envelope.ok(True)
