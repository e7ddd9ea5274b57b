"""ORDER and LOGISTIC webhook messages, their `sign` header, and delivery.

The messages reproduce CJ's quirks on purpose: `cjOrderId` / `orderId` are JSON numbers
above 2^53 (the body is serialised here, Python ints are exact), ORDER says `trackNumber`
while LOGISTIC says `trackingNumber`, and `logisticsTrackEvents` is a JSON-encoded string.
`openId` (the key `sign` uses) is where CJ's samples put it: a JSON number in LOGISTIC's
envelope (API_FACTS §3.5), absent from ORDER's (§3.4).
Delivery is inline (awaited, 5 s timeout) so that tests are deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any

import httpx

from cjsim import catalog
from cjsim.envelope import dumps
from cjsim.models import DELIVERED, LOGISTIC_TRACKING_STATUS, Order, cj_time

DELIVERY_TIMEOUT_S = 5.0
ORDER_TOPIC = "order"
LOGISTICS_TOPIC = "logistics"


def sign(body: bytes, open_id: int) -> str:
    """base64(HMAC-SHA256(raw body, key = openId as a decimal string))."""
    mac = hmac.new(str(open_id).encode(), body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def _message_id() -> str:
    return uuid.uuid4().hex


def order_message(order: Order, now: datetime) -> dict[str, Any]:
    return {
        "messageId": _message_id(),
        "type": "ORDER",
        "messageType": "UPDATE",
        "params": {
            "orderNumber": order.order_number,
            "cjOrderId": int(order.cj_id),
            "orderStatus": order.status,
            "logisticName": order.logistic_name,
            "trackNumber": order.track_number,
            "trackingUrl": order.tracking_url,
            "createDate": cj_time(order.created_at),
            "updateDate": cj_time(now),
            "payDate": cj_time(order.paid_at),
            "deliveryDate": cj_time(order.shipped_at),
            "completeDate": cj_time(order.delivered_at),
            "orderItems": [
                {
                    "vid": item.vid,
                    "quantity": item.quantity,
                    "sellPrice": item.sell_price,
                    "lineItemId": item.line_item_id,
                    "storeLineItemId": item.store_line_item_id,
                    "productionOrderStatus": None,
                    "abnormalType": None,
                }
                for item in order.items
            ],
        },
    }


def _event(status: int, activity: str, location: str, at: datetime | None) -> dict[str, Any]:
    when = cj_time(at)
    return {
        "status": status,
        "activity": activity,
        "location": location,
        "eventTime": when,
        "statusDesc": activity,
        "thirdActivity": activity,
        "thirdLocation": location,
        "thirdEventTime": when,
    }


def track_events(order: Order) -> list[dict[str, Any]]:
    origin = "Cranbury, NJ, US" if order.from_country == "US" else "Shenzhen, CN"
    city = order.shipping.get("shippingCity") or ""
    destination = f"{city}, {order.shipping.get('shippingCountryCode') or ''}".strip(", ")
    events = []
    if order.shipped_at is not None:
        events.append(_event(1, "Departed from the warehouse", origin, order.shipped_at))
        events.append(_event(5, "In transit", origin, order.shipped_at))
    if order.status == DELIVERED:
        events.append(_event(12, "Delivered", destination, order.delivered_at))
    return events


def logistic_message(order: Order) -> dict[str, Any]:
    return {
        "messageId": _message_id(),
        "type": "LOGISTIC",
        "messageType": "UPDATE",
        "openId": order.open_id,
        "params": {
            "orderId": int(order.cj_id),
            "logisticName": order.logistic_name,
            "trackingNumber": order.track_number,
            "trackingStatus": LOGISTIC_TRACKING_STATUS.get(order.status, 0),
            "logisticsTrackEvents": json.dumps(track_events(order), ensure_ascii=False),
            "trackingUrl": order.tracking_url,
            "trackingProvider": catalog.carrier_for(order.logistic_name),
            "storeOrderNumbers": [order.order_number],
        },
    }


def problem_message(
    order: Order, tracking_status: int, order_id: str | None = None
) -> dict[str, Any]:
    """LOGISTIC with trackingStatus 13 (exception) or 14 (returned), and its scan; `order_id`
    names a split parcel instead of the order."""
    message = logistic_message(order)
    activity = "Exception: delivery failed" if tracking_status == 13 else "Returned to sender"
    events = [*track_events(order), _event(tracking_status, activity, "", order.updated_at)]
    message["params"] |= {
        "trackingStatus": tracking_status,
        "logisticsTrackEvents": json.dumps(events, ensure_ascii=False),
    }
    if order_id is not None:
        message["params"]["orderId"] = order_id
    return message


def split_message(order: Order, codes: list[str], now: datetime) -> dict[str, Any]:
    """ORDERSPLIT as CJ documents it (API_FACTS §3.6): the original order and its parts."""
    millis = int(now.timestamp() * 1000)
    return {
        "messageId": _message_id(),
        "type": "ORDERSPLIT",
        "messageType": "UPDATE",
        "params": {
            "originalOrderId": int(order.cj_id),
            "orderSplitTime": millis,
            "splitOrderList": [
                {
                    "orderCode": code,
                    "createAt": millis,
                    "orderStatus": 300,
                    "productList": [
                        {
                            "sku": item.vid,
                            "vid": item.vid,
                            "quantity": item.quantity,
                            "productCode": item.vid,
                        }
                        for item in order.items[i :: len(codes)]
                    ],
                }
                for i, code in enumerate(codes)
            ],
        },
    }


def messages_for(order: Order, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """(topic, message) pairs an order change produces: ORDER always, LOGISTIC once the
    order has a track number."""
    out = [(ORDER_TOPIC, order_message(order, now))]
    if order.track_number:
        out.append((LOGISTICS_TOPIC, logistic_message(order)))
    return out


async def deliver(
    deliveries: list[tuple[str, dict[str, Any]]], open_id: int, signed: bool
) -> list[dict[str, Any]]:
    """POST each (url, message); report `{"url","type","messageId","status_code"|"error"}`
    (a message is sent as the same bytes on every retry: the same messageId)."""
    results: list[dict[str, Any]] = []
    if not deliveries:
        return results
    async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S) as client:
        for url, message in deliveries:
            body = dumps(message)
            headers = {"Content-Type": "application/json"}
            if signed:
                headers["sign"] = sign(body, open_id)
            report: dict[str, Any] = {
                "url": url,
                "type": message["type"],
                "messageId": message["messageId"],
            }
            try:
                response = await client.post(url, content=body, headers=headers)
                report["status_code"] = response.status_code
            except httpx.HTTPError as exc:
                report["error"] = f"{type(exc).__name__}: {exc}"
            results.append(report)
    return results
