"""Disputes: the refund path once an order is paid (CJ has no cancel endpoint after payment).

Failures use the dispute codes: 1607006 (products), 1607007 (confirm), 1607008 (create),
1607009 (cancel). `create` answers a bare `data: true`, as the public docs show. A dispute
can be opened only for a paid order that has not shipped (UNSHIPPED); `businessDisputeId`
is unique per account.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from cjsim import envelope
from cjsim.api.common import (
    PREFIX,
    account,
    body_json,
    opt_int,
    opt_str,
    owned_order,
    page_params,
    query_str,
    sim,
)
from cjsim.envelope import CJError
from cjsim.models import DISPUTE_REASONS, PAID, UNSHIPPED, Dispute, Order
from cjsim.state import SimState

router = APIRouter(prefix=f"{PREFIX}/disputes")

OPEN = "PROCESSING"


def _open_dispute(state: SimState, order: Order) -> Dispute | None:
    return next(
        (d for d in state.disputes.values() if d.order_id == order.cj_id and d.status == OPEN),
        None,
    )


def _selected_lines(order: Order, wanted: Any, code: int) -> list[dict[str, Any]]:
    """The lines a dispute covers: the requested ones, or all of them when none are given."""
    by_id = {item.line_item_id: item for item in order.items}
    if not wanted:
        return [
            {"lineItemId": i.line_item_id, "quantity": i.quantity, "price": i.sell_price}
            for i in order.items
        ]
    if not isinstance(wanted, list):
        raise CJError(code, "productInfoList must be a list")
    lines = []
    for entry in wanted:
        line_id = str(entry.get("lineItemId")) if isinstance(entry, dict) else None
        item = by_id.get(line_id or "")
        if item is None:
            raise CJError(code, f"lineItemId {line_id} is not part of the order")
        qty = entry.get("quantity", item.quantity)
        if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= item.quantity:
            raise CJError(code, f"invalid quantity for lineItemId {line_id}")
        lines.append({"lineItemId": item.line_item_id, "quantity": qty, "price": item.sell_price})
    return lines


def _max_amount(order: Order, lines: list[dict[str, Any]]) -> Decimal:
    """Products chosen; postage too when the whole order is disputed."""
    products = sum((Decimal(ln["price"]) * ln["quantity"] for ln in lines), start=Decimal(0))
    whole = sum(ln["quantity"] for ln in lines) == sum(i.quantity for i in order.items)
    return envelope.money(products + (order.postage_amount if whole else Decimal(0)))


@router.get("/disputeProducts")
async def dispute_products(request: Request) -> Response:
    state = sim(request)
    order = owned_order(state, account(request), query_str(request, "orderId"))
    if order is None:
        raise CJError(envelope.DISPUTE_PRODUCTS_FAILED, "order not found")
    can_choose = order.status in PAID and _open_dispute(state, order) is None
    products = [
        {
            "lineItemId": item.line_item_id,
            "cjProductId": None,
            "cjVariantId": item.vid,
            "canChoose": can_choose,
            "price": item.sell_price,
            "quantity": item.quantity,
            "cjProductName": item.sku,
            "cjImage": None,
            "sku": item.sku,
            "supplierName": "cjsim",
        }
        for item in order.items
    ]
    data = {"orderId": order.cj_id, "orderNumber": order.order_number, "productInfoList": products}
    return envelope.ok(data)


@router.post("/disputeConfirmInfo")
async def dispute_confirm_info(request: Request) -> Response:
    state = sim(request)
    body = await body_json(request)
    code = envelope.DISPUTE_CONFIRM_FAILED
    order = owned_order(state, account(request), opt_str(body, "orderId"))
    if order is None:
        raise CJError(code, "order not found")
    if order.status not in PAID:
        raise CJError(code, f"no dispute can be opened for an order in status {order.status}")
    lines = _selected_lines(order, body.get("productInfoList"), code)
    data = {
        "orderId": order.cj_id,
        "orderNumber": order.order_number,
        "maxAmount": _max_amount(order, lines),
        "expectResultOptionList": [1, 2],
        "disputeReasonList": [
            {"disputeReasonId": rid, "reasonName": name} for rid, name in DISPUTE_REASONS
        ],
        "productInfoList": lines,
    }
    return envelope.ok(data)


@router.post("/create")
async def create_dispute(request: Request) -> Response:
    state = sim(request)
    acc = account(request)
    body = await body_json(request)
    code = envelope.DISPUTE_CREATE_FAILED
    business_id = opt_str(body, "businessDisputeId")
    if business_id is None:
        raise envelope.param_empty("businessDisputeId")
    reason_id = opt_int(body, "disputeReasonId")
    expect_type = opt_int(body, "expectType")
    if reason_id is None:
        raise envelope.param_empty("disputeReasonId")
    if expect_type is None:
        raise envelope.param_empty("expectType")
    if reason_id not in dict(DISPUTE_REASONS):
        raise CJError(code, f"unknown disputeReasonId {reason_id}")
    if expect_type not in (1, 2):
        raise CJError(code, "expectType must be 1 (refund) or 2 (reissue)")
    async with state.lock:
        order = owned_order(state, acc, opt_str(body, "orderId"))
        if order is None:
            raise CJError(code, "order not found")
        if order.status != UNSHIPPED:
            raise CJError(code, f"a dispute cannot be opened for an order in {order.status}")
        if any(
            d.business_dispute_id == business_id and state.orders[d.order_id].api_key == acc.api_key
            for d in state.disputes.values()
        ):
            raise CJError(code, f"businessDisputeId {business_id} already exists")
        if _open_dispute(state, order) is not None:
            raise CJError(code, "the order already has an open dispute")
        lines = _selected_lines(order, body.get("productInfoList"), code)
        dispute = Dispute(
            dispute_id=state.next_dispute_id(),
            business_dispute_id=business_id,
            order_id=order.cj_id,
            order_number=order.order_number,
            reason_id=reason_id,
            expect_type=expect_type,
            refund_type=opt_int(body, "refundType"),
            amount=_max_amount(order, lines),
            message_text=opt_str(body, "messageText"),
            products=lines,
            created_at=state.utcnow(),
        )
        state.disputes[dispute.dispute_id] = dispute
        order.dispute_id = dispute.dispute_id
    # As CJ's public documentation answers: `data: true`, no id. The id is found with
    # getDisputeList (by orderId, matching businessDisputeId) or in getOrderDetail.
    return envelope.ok(True)


@router.post("/cancel")
async def cancel_dispute(request: Request) -> Response:
    state = sim(request)
    body = await body_json(request)
    code = envelope.DISPUTE_CANCEL_FAILED
    dispute_id = opt_str(body, "disputeId")
    if dispute_id is None:
        raise envelope.param_empty("disputeId")
    async with state.lock:
        order = owned_order(state, account(request), opt_str(body, "orderId"))
        dispute = state.disputes.get(dispute_id)
        if order is None or dispute is None or dispute.order_id != order.cj_id:
            raise CJError(code, "dispute not found")
        if dispute.status != OPEN:
            raise CJError(code, f"dispute is {dispute.status}")
        dispute.status = "CANCELLED"
    return envelope.ok(True)


@router.get("/getDisputeList")
async def get_dispute_list(request: Request) -> Response:
    state = sim(request)
    acc = account(request)
    page_num, page_size = page_params(request)
    order_key = query_str(request, "orderId")
    order_number = query_str(request, "orderNumber")
    dispute_id = query_str(request, "disputeId")
    found = [
        d
        for d in reversed(state.disputes.values())
        if state.orders[d.order_id].api_key == acc.api_key
        and (order_key is None or order_key in (d.order_id, d.order_number))
        and (order_number is None or d.order_number == order_number)
        and (dispute_id is None or d.dispute_id == dispute_id)
    ]
    start = (page_num - 1) * page_size
    page = [d.public() for d in found[start : start + page_size]]
    return envelope.ok(
        {"pageNum": page_num, "pageSize": page_size, "total": len(found), "list": page}
    )
