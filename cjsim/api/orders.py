"""Shopping orders: create (V2/V3), detail, list, delete, confirm and the cart steps."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from cjsim import catalog, envelope, lifecycle, products
from cjsim.api.common import (
    PREFIX,
    account,
    body_json,
    opt_int,
    opt_str,
    owned_order,
    page_params,
    query_str,
    req_str,
    sim,
)
from cjsim.api.logistics import country, resolve_lines
from cjsim.envelope import CJError
from cjsim.models import (
    ALL_STATUSES,
    CANCELLED,
    CREATED,
    DELETABLE,
    IN_CART,
    UNPAID,
    Order,
    OrderItem,
    cj_time,
)

router = APIRouter(prefix=f"{PREFIX}/shopping/order")

REQUIRED_FIELDS = (
    "orderNumber",
    "shippingCountryCode",
    "shippingCountry",
    "shippingProvince",
    "shippingCity",
    "shippingCustomerName",
    "shippingAddress",
    "logisticName",
    "fromCountryCode",
)
SHIPPING_FIELDS = (
    "shippingCountryCode",
    "shippingCountry",
    "shippingProvince",
    "shippingCity",
    "shippingCounty",
    "shippingAddress",
    "shippingAddress2",
    "shippingZip",
    "shippingPhone",
    "shippingCustomerName",
    "houseNumber",
    "email",
    "taxId",
)
# createOrderV2's documented lengths (seed 004 §1.1); a longer value is 1600100.
FIELD_LIMITS = {
    "orderNumber": 50,
    "shippingCustomerName": 50,
    "shippingCity": 50,
    "shippingProvince": 50,
    "shippingCountry": 50,
    "shippingCounty": 50,
    "shippingPhone": 20,
    "shippingZip": 20,
    "shippingAddress": 200,
    "shippingAddress2": 200,
    "houseNumber": 20,
    "email": 50,
    "remark": 500,
    "taxId": 20,
    "logisticName": 50,
}
# How the simulator makes CJ intercept an order: a PO box, which CJ's logistics refuse.
_PO_BOX = re.compile(r"\bp\.?\s*o\.?\s*box\b", re.IGNORECASE)
PO_BOX_INTERCEPT = {"code": 1001, "message": "The logistic does not deliver to PO Box addresses"}
POD_PROPERTIES_LIMIT = 500
PAY_PAGE = 1
PAY_BALANCE = 2
CREATE_ONLY = 3


def _pay_type(body: dict[str, Any]) -> int:
    value = opt_int(body, "payType")
    if value is None:
        return PAY_PAGE
    if value not in (PAY_PAGE, PAY_BALANCE, CREATE_ONLY):
        raise CJError(envelope.PARAM_ERROR, "payType must be 1, 2 or 3")
    return value


def _pod_properties(item: Any) -> str | None:
    """`products[].podProperties`: a string (JSON text) of at most 500 characters
    (seed 004 §1.1); anything else is refused as the body is (1600100 "Param error")."""
    value = item.get("podProperties") if isinstance(item, dict) else None
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > POD_PROPERTIES_LIMIT:
        raise CJError(envelope.ORDER_PARAM_ERROR)
    return value


def _is_sandbox(body: dict[str, Any]) -> bool:
    value = body.get("isSandbox")
    return value in (1, "1", True)


async def _create(request: Request, version: int) -> Response:
    state = sim(request)
    acc = account(request)
    body = await body_json(request)
    for name in REQUIRED_FIELDS:
        req_str(body, name)
    lines_raw = body.get("products")
    if not isinstance(lines_raw, list) or not lines_raw:
        raise envelope.param_empty("products")
    order_number = req_str(body, "orderNumber")
    for name, limit in FIELD_LIMITS.items():
        value = body.get(name)
        if isinstance(value, str) and len(value) > limit:
            # CJ's sample refusal names no field: "Param error".
            raise CJError(envelope.ORDER_PARAM_ERROR)
    to_country = country(body, "shippingCountryCode")
    from_country = country(body, "fromCountryCode")
    lines = resolve_lines(lines_raw, allow_sku=True)
    for variant, _ in lines:
        product = products.product_of(variant.vid)
        if product is not None and state.catalogue.is_delisted(product, variant.vid):
            raise CJError(envelope.VARIANT_OFF_SHELF, f"Variant {variant.vid} is off the shelves")
    pod = [_pod_properties(item) for item in lines_raw]
    logistic_name = req_str(body, "logisticName")
    weight = catalog.total_weight(lines)
    zip_code = opt_str(body, "shippingZip")
    quote = catalog.find_quote(from_country, to_country, zip_code, weight, logistic_name)
    if quote is None:
        raise CJError(
            envelope.LOGISTIC_INVALID,
            f"Logistic '{logistic_name}' is not available from {from_country} to {to_country}",
        )
    pay_type = _pay_type(body) if version == 2 else None
    sandbox = _is_sandbox(body)
    store_ids = [
        opt_str(item, "storeLineItemId") if isinstance(item, dict) else None for item in lines_raw
    ]

    async with state.lock:
        if order_number in state.orders_by_number:
            raise CJError(envelope.ORDER_EXISTS)
        cj_id, shipment_id = state.next_order_ids()
        now = state.utcnow()
        items = [
            OrderItem(
                vid=variant.vid,
                sku=variant.sku,
                quantity=qty,
                sell_price=variant.sell_price,
                line_item_id=state.next_line_item_id(),
                store_line_item_id=store_id,
                pod_properties=pod_properties,
            )
            for (variant, qty), store_id, pod_properties in zip(lines, store_ids, pod, strict=True)
        ]
        product_amount = envelope.money(
            sum((i.sell_price * i.quantity for i in items), start=Decimal(0))
        )
        shipping = {name: opt_str(body, name) for name in SHIPPING_FIELDS}
        shipping["shippingCountryCode"] = to_country
        order = Order(
            cj_id=cj_id,
            order_number=order_number,
            shipment_order_id=shipment_id,
            api_key=acc.api_key,
            open_id=acc.open_id,
            status=CREATED,
            logistic_name=logistic_name,
            from_country=from_country,
            shipping=shipping,
            items=items,
            weight_g=weight,
            product_amount=product_amount,
            postage_amount=quote.effective,
            is_sandbox=sandbox,
            created_at=now,
            updated_at=now,
            pay_type=pay_type,
            remark=opt_str(body, "remark"),
            id_withheld=any(not variant.cj_product for variant, _ in lines),
        )
        if _PO_BOX.search(
            " ".join(
                filter(None, (shipping.get("shippingAddress"), shipping.get("shippingAddress2")))
            )
        ):
            order.intercept_reasons = [dict(PO_BOX_INTERCEPT)]
        if pay_type == PAY_BALANCE and not order.intercept_reasons:
            lifecycle.charge_balance(state, [order])  # 1604000 → nothing is stored
        state.add_order(order)
    pay_url = None
    if pay_type == PAY_PAGE:
        pay_url = f"https://cjdropshipping.com/myCJ.html#/payment?orderId={cj_id}"
    return envelope.ok(order.create_result(pay_url))


@router.post("/createOrderV2")
async def create_order_v2(request: Request) -> Response:
    return await _create(request, 2)


@router.post("/createOrderV3")
async def create_order_v3(request: Request) -> Response:
    return await _create(request, 3)


@router.get("/getOrderDetail")
async def get_order_detail(request: Request) -> Response:
    key = query_str(request, "orderId")
    if key is None:
        raise CJError(envelope.PARAM_ERROR, "orderId must be not empty")
    order = owned_order(sim(request), account(request), key)
    if order is None:
        # Query Order's own error table (seed 004 §1.7): 1600300 "order not found", not
        # the global 1603100.
        raise CJError(envelope.PARAM_ERROR, "order not found")
    return envelope.ok(order.detail())


@router.get("/list")
async def list_orders(request: Request) -> Response:
    """Newest first. Without `status` every status is listed (CJ's table claims the default
    is CANCELLED; the simulator does not reproduce that)."""
    state = sim(request)
    acc = account(request)
    page_num, page_size = page_params(request)
    ids = {i.strip() for i in request.query_params.getlist("orderIds") if i.strip()}
    status = query_str(request, "status")
    if status is not None and status not in (*ALL_STATUSES, "OTHER"):
        raise CJError(envelope.PARAM_ERROR, f"unknown status {status}")
    shipment = query_str(request, "shipmentOrderId")
    found = [
        o
        for o in reversed(state.orders.values())
        if o.api_key == acc.api_key
        and (not ids or o.cj_id in ids or o.order_number in ids)
        and (status is None or o.status == status)
        and (shipment is None or o.shipment_order_id == shipment)
    ]
    start = (page_num - 1) * page_size
    page = [o.detail() for o in found[start : start + page_size]]
    return envelope.ok(
        {"pageNum": page_num, "pageSize": page_size, "total": len(found), "list": page}
    )


@router.delete("/deleteOrder")
async def delete_order(request: Request) -> Response:
    state = sim(request)
    key = query_str(request, "orderId")
    if key is None:
        raise envelope.param_empty("orderId")
    async with state.lock:
        order = owned_order(state, account(request), key)
        if order is None:
            raise CJError(envelope.ORDER_NOT_FOUND)
        if order.status not in DELETABLE:
            raise CJError(
                envelope.ORDER_DELETE_FAILED,
                f"order delete fail: an order in status {order.status} cannot be deleted",
            )
        order.status = CANCELLED
        order.updated_at = state.utcnow()
    return envelope.ok(order.cj_id)


@router.patch("/confirmOrder")
async def confirm_order(request: Request) -> Response:
    state = sim(request)
    body = await body_json(request)
    key = req_str(body, "orderId")
    async with state.lock:
        order = owned_order(state, account(request), key)
        if order is None:
            raise CJError(envelope.ORDER_NOT_FOUND)
        if order.status not in (CREATED, IN_CART):
            raise CJError(envelope.ORDER_CONFIRM_FAILED)
        order.status = UNPAID
        order.updated_at = state.utcnow()
    return envelope.ok(order.cj_id)


def _id_list(body: dict[str, Any]) -> list[str]:
    ids = body.get("cjOrderIdList")
    if not isinstance(ids, list) or not ids:
        raise envelope.param_empty("cjOrderIdList")
    return [str(i) for i in ids]


@router.post("/addCart")
async def add_cart(request: Request) -> Response:
    state = sim(request)
    acc = account(request)
    ids = _id_list(await body_json(request))
    added: list[str] = []
    intercepted: list[str] = []
    async with state.lock:
        for key in ids:
            order = owned_order(state, acc, key)
            if order is not None and order.status == CREATED:
                order.status = IN_CART
                order.updated_at = state.utcnow()
                added.append(key)
            else:
                intercepted.append(key)
    return envelope.ok(
        {
            "successCount": len(added),
            "addSuccessOrders": added,
            "unInterceptAddressCount": 0,
            "interceptOrders": intercepted,
        }
    )


@router.post("/addCartConfirm")
async def add_cart_confirm(request: Request) -> Response:
    state = sim(request)
    acc = account(request)
    ids = _id_list(await body_json(request))
    confirmed: list[Order] = []
    intercepted: list[str] = []
    async with state.lock:
        for key in ids:
            order = owned_order(state, acc, key)
            if order is not None and order.status in (CREATED, IN_CART):
                order.status = UNPAID
                order.updated_at = state.utcnow()
                confirmed.append(order)
            else:
                intercepted.append(key)
    return envelope.ok(
        {
            "successCount": len(confirmed),
            "submitSuccess": bool(confirmed),
            "shipmentsId": confirmed[0].shipment_order_id if confirmed else None,
            "result": 0,
            "interceptOrders": intercepted,
        }
    )


@router.post("/saveGenerateParentOrder")
async def save_generate_parent_order(request: Request) -> Response:
    state = sim(request)
    acc = account(request)
    shipment_id = req_str(await body_json(request), "shipmentOrderId")
    orders = [o for o in state.find_by_shipment(shipment_id) if o.api_key == acc.api_key]
    if not orders:
        raise CJError(envelope.ORDER_NOT_FOUND)
    if any(o.status != UNPAID for o in orders):  # only confirmed (addCartConfirm) orders
        raise CJError(envelope.ORDER_CONFIRM_FAILED)
    pay_id = f"PAY{shipment_id}"
    for order in orders:
        order.pay_id = pay_id
    total = envelope.money(sum((o.order_amount for o in orders), start=Decimal(0)))
    products = envelope.money(sum((o.product_amount for o in orders), start=Decimal(0)))
    postage = envelope.money(sum((o.postage_amount for o in orders), start=Decimal(0)))
    zero = Decimal("0.00")
    return envelope.ok(
        {
            "orderMoney": total,
            "payExpireTime": cj_time(state.utcnow() + timedelta(days=1)),
            "payId": pay_id,
            "result": 0,
            "submitSuccess": True,
            "unMatchOrderCodes": [],
            "successOrders": [o.cj_id for o in orders],
            "unMatchProductCodes": [],
            "paymentInformation": {
                "actualPayment": total,
                "balanceDeduction": zero,
                "canDeduct": True,
                "commodityTotalAmount": products,
                "freight": postage,
                "orderOriginalAmount": total,
                "orderProductAmount": products,
                "payableAmount": total,
                "postageDiscount": zero,
                "serviceFee": zero,
            },
            "interceptOrders": [],
        }
    )
