"""CJ's payloads, translated in one place (as Karrio keeps each carrier's mapping apart).

Pure functions, no I/O:
- the createOrderV2 body built from a fulfillment, and the check of CJ's documented
  field limits (seed 004 §1.1), so an order CJ would refuse for a field's length is
  refused before anything is stored;
- the placed order read from createOrderV2's answer (which may carry no `orderId`, or
  say the order is intercepted) and from getOrderDetail's;
- the quotes read from freightCalculate's answer.

Each is tested on CJ's own sample payloads (`tests/fixtures/cj_samples`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from pydantic import TypeAdapter, ValidationError

from app.cj.errors import CJAmbiguous, CJUpstreamError
from app.cj.models import CreatedOrder, CreateOrderRequest, FreightQuote, OrderDetail, OrderProduct

# createOrderV2's documented lengths (seed 004 §1.1), by CJ's field name.
CREATE_ORDER_LIMITS: Mapping[str, int] = {
    "orderNumber": 50,
    "shippingCustomerName": 50,
    "shippingCity": 50,
    "shippingProvince": 50,
    "shippingCountry": 50,
    "shippingPhone": 20,
    "shippingZip": 20,
    "shippingAddress": 200,
    "shippingAddress2": 200,
    "houseNumber": 20,
    "email": 50,
    "remark": 500,
    "taxId": 20,
}

POD_PROPERTIES_LIMIT = 500
# The order of CJ's own examples (a stored entry may come back with its keys reordered).
POD_KEY_ORDER = ("areaName", "links", "type", "effectImgs")

# Where each CJ field comes from in our fulfillment request (what a 422 names).
SOURCE_FIELDS: Mapping[str, str] = {
    "orderNumber": "id",
    "shippingCustomerName": "shipping_address.name",
    "shippingCity": "shipping_address.city",
    "shippingProvince": "shipping_address.province",
    "shippingCountry": "shipping_address.country_code",
    "shippingPhone": "shipping_address.phone",
    "shippingZip": "shipping_address.zip",
    "shippingAddress": "shipping_address.address1",
    "shippingAddress2": "shipping_address.address2",
    "email": "shipping_address.email",
}

_QUOTES = TypeAdapter(list[FreightQuote])
_ORDER_DETAIL = TypeAdapter(OrderDetail)

T = TypeVar("T")


def read_answer(adapter: TypeAdapter[T], data: Any, what: str) -> T:
    """CJ's `data` read as `adapter`'s type; an answer that does not fit is CJ's error
    (`CJUpstreamError` naming `what`), never a crash."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise CJUpstreamError(f"CJ's {what} could not be read: {exc}") from exc


class OrderLine(Protocol):
    @property
    def vid(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def line_item_id(self) -> str: ...
    @property
    def pod_properties(self) -> list[dict[str, Any]] | None: ...


class OrderSource(Protocol):
    """What a createOrder body is built from (a stored or about-to-be-stored fulfillment)."""

    @property
    def cj_order_number(self) -> str: ...
    @property
    def shipping_address(self) -> Mapping[str, Any]: ...
    @property
    def from_country(self) -> str: ...
    @property
    def items(self) -> Sequence[OrderLine]: ...


@dataclass(frozen=True)
class FieldTooLong:
    cj_field: str
    limit: int
    length: int

    @property
    def source_field(self) -> str:
        return SOURCE_FIELDS.get(self.cj_field, self.cj_field)

    @property
    def message(self) -> str:
        return (
            f"CJ accepts at most {self.limit} characters for {self.cj_field} "
            f"(this one has {self.length})"
        )


@dataclass(frozen=True)
class CJOrder:
    """An order CJ has for our orderNumber, as CJ describes it."""

    cj_order_id: str | None
    cj_status: str | None
    logistic_name: str | None
    track_number: str | None = None
    tracking_url: str | None = None
    # Why CJ holds the order back (interceptOrderReasons, logisticsMiss), in words.
    interception: str | None = None
    # What paying it from the balance needs: its amount and its parent (shipment) order.
    order_amount: Decimal | None = None
    shipment_order_id: str | None = None


def create_order_request(
    source: OrderSource, logistic: str, *, pay_type: int | None, sandbox: bool
) -> CreateOrderRequest:
    """The createOrderV2 body: our id as `orderNumber`, each line's `storeLineItemId`."""
    address = source.shipping_address
    return CreateOrderRequest(
        order_number=source.cj_order_number,
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
        from_country_code=source.from_country,
        products=[
            OrderProduct(
                vid=line.vid,
                quantity=line.quantity,
                store_line_item_id=line.line_item_id,
                pod_properties=pod_properties_text(line.pod_properties),
            )
            for line in source.items
        ],
        pay_type=pay_type,
        is_sandbox=1 if sandbox else None,
    )


def pod_properties_text(entries: Sequence[Mapping[str, Any]] | None) -> str | None:
    """createOrder's `podProperties`: CJ takes the list as a JSON string (seed 004 §1.1,
    at most `POD_PROPERTIES_LIMIT` characters), e.g.
    `[{"areaName":"LogoArea","links":["https://…/logo.png"],"type":"1"}]` (POD 2.0) or
    `[{"links":["https://…/print.png"],"effectImgs":["https://…/mockup.png"]}]` (POD 3.0)."""
    if not entries:
        return None
    ordered = [
        {**{k: e[k] for k in POD_KEY_ORDER if k in e}, **{k: v for k, v in e.items()
                                                          if k not in POD_KEY_ORDER}}
        for e in entries
    ]  # fmt: skip
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


def create_order_body(request: CreateOrderRequest) -> dict[str, Any]:
    return request.model_dump(by_alias=True, exclude_none=True)


def too_long(request: CreateOrderRequest) -> list[FieldTooLong]:
    """The fields of the body longer than CJ accepts (CJ would answer 1600100)."""
    body = create_order_body(request)
    found = []
    for name, limit in CREATE_ORDER_LIMITS.items():
        value = body.get(name)
        if isinstance(value, str) and len(value) > limit:
            found.append(FieldTooLong(name, limit, len(value)))
    return found


def read_created_order(data: Any) -> CreatedOrder:
    """createOrderV2's `data`. CJ answered success, so an order may exist even when its
    answer cannot be read: that is ambiguous (look it up), never "not placed"."""
    if not isinstance(data, dict):
        raise CJAmbiguous("CJ answered createOrder with success but without the order")
    try:
        return CreatedOrder.model_validate(data)
    except ValidationError as exc:
        raise CJAmbiguous(f"CJ's createOrder answer could not be read: {exc}") from exc


def read_order_detail(data: Any) -> OrderDetail:
    return read_answer(_ORDER_DETAIL, data or {}, "order detail")


def read_quotes(data: Any) -> list[FreightQuote]:
    return read_answer(_QUOTES, data or [], "freight quotes")


def interception_of(created: CreatedOrder) -> str | None:
    """Why CJ holds a new order back, in words (None when it does not): each
    `interceptOrderReasons` entry, and `logisticsMiss` (CJ found no logistic for it)."""
    reasons = []
    for reason in created.intercept_order_reasons:
        text = f"code {reason.code}" if reason.code is not None else "no code"
        reasons.append(f"{reason.message} ({text})" if reason.message else text)
    if created.logistics_miss:
        reasons.append("CJ has no logistic for the order (logisticsMiss)")
    if not reasons:
        return None
    return "CJ intercepted the order: " + "; ".join(reasons) + ". Resolve it in MyCJ."


def placed_from_created(created: CreatedOrder, logistic: str) -> CJOrder:
    """createOrderV2's answer. Without `orderId` (non-CJ SKUs, seed 004 §1.1: the id will
    change and comes with the ORDER webhook) the order exists under our orderNumber."""
    return CJOrder(
        cj_order_id=created.order_id or None,
        cj_status=created.order_status or None,
        logistic_name=logistic,
        interception=interception_of(created),
        order_amount=created.order_amount,
        shipment_order_id=created.shipment_order_id or None,
    )


def placed_from_detail(detail: OrderDetail) -> CJOrder:
    """getOrderDetail's answer; CJ's id is in `orderId` when `cjOrderId` is null."""
    return CJOrder(
        cj_order_id=detail.cj_id,
        cj_status=detail.order_status or None,
        logistic_name=detail.logistic_name,
        track_number=detail.track_number,
        tracking_url=detail.tracking_url,
        order_amount=detail.order_amount,
        shipment_order_id=detail.shipment_order_id or None,
    )
