"""Balance payments: payBalance (by order), payBalanceV2 (by shipment order), getBalance.

payBalanceV2 (seed 004 §2.3) pays every order of the parent (shipment) order at once;
`payId` is optional, and one that is not the parent order's (saveGenerateParentOrder) is
1600100 "Param error", the error the docs show. Too little balance is 1604000.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from cjsim import envelope, lifecycle
from cjsim.api.common import PREFIX, account, body_json, opt_str, owned_order, req_str, sim
from cjsim.envelope import CJError
from cjsim.models import UNPAID, Order

router = APIRouter(prefix=f"{PREFIX}/shopping/pay")


def _ensure_payable(orders: list[Order]) -> None:
    for order in orders:
        if order.status != UNPAID:
            raise CJError(envelope.PAY_FAILED, f"pay failed: order {order.cj_id} is {order.status}")


@router.post("/payBalance")
async def pay_balance(request: Request) -> Response:
    state = sim(request)
    key = req_str(await body_json(request), "orderId")
    async with state.lock:
        order = owned_order(state, account(request), key)
        if order is None:
            raise CJError(envelope.ORDER_NOT_FOUND)
        _ensure_payable([order])
        lifecycle.charge_balance(state, [order])
    return envelope.ok(None)


@router.post("/payBalanceV2")
async def pay_balance_v2(request: Request) -> Response:
    state = sim(request)
    acc = account(request)
    body = await body_json(request)
    shipment_id = req_str(body, "shipmentOrderId")
    pay_id = opt_str(body, "payId")  # optional: "the system will auto-generate it"
    async with state.lock:
        orders = [o for o in state.find_by_shipment(shipment_id) if o.api_key == acc.api_key]
        if not orders:
            raise CJError(envelope.ORDER_NOT_FOUND)
        if pay_id is not None and any(o.pay_id != pay_id for o in orders):
            raise CJError(envelope.PARAM_INVALID, "Param error")
        _ensure_payable(orders)
        lifecycle.charge_balance(state, orders)
    return envelope.ok(None)


@router.get("/getBalance")
async def get_balance(request: Request) -> Response:
    balance = sim(request).config.balance
    return envelope.ok({"amount": balance, "noWithdrawalAmount": None, "freezeAmount": None})
