"""What CJ sends about a batch of orders: signed ORDER and LOGISTIC webhooks, as CJ shapes them.

Each order lives through the same eight messages (paid, shipped, four parcel scans,
delivered by LOGISTIC, delivered by ORDER). The payloads follow CJ's documented samples
(../shared/cj/API_FACTS.md §3.4, §3.5): `cjOrderId` and LOGISTIC's `orderId` are JSON
numbers above 2**53, ORDER says `trackNumber` where LOGISTIC says `trackingNumber`, and
`logisticsTrackEvents` is a JSON string holding every scan so far. The `sign` header is
base64 HMAC-SHA256 of the exact bytes sent, keyed with the account's openId, computed
here on its own rather than with the service's code.

A level's traffic goes out in rounds: round r carries message r of every order of the
level, in a shuffled order, so one order's messages are a round apart. Some orders get
theirs out of order (delivered before shipped), and some messages are delivered twice
(same messageId, same bytes): a few right behind the first delivery, racing it, the rest
a while later, as CJ's retries come. Every message also records what it may change (the
status it claims, its tracking number and scans), which the audit checks the database
against. One seed gives the same traffic every run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from harness.openloop import Post

LOGISTIC_NAME = "CJPacket Ordinary"
# Our statuses in their order; what each message claims is one of them.
STATUS_ORDER = ("created", "unshipped", "shipped", "delivered")
# LOGISTIC trackingStatus -> (statusDesc, activity, location) of the scan it reports.
SCANS: dict[int, tuple[str, str, str]] = {
    1: ("Departed", " Departed from the warehouse", " SHENZHEN,GD 518000"),
    5: ("In transit", " Departed from the origin country", " HONG KONG,HK"),
    6: ("Arrived", " Arrived in the destination country", " LOS ANGELES,CA 90045"),
    10: ("Out for delivery", " Out for delivery", " NENANA,AK 99760"),
    12: ("Delivered", " Delivered, PO Box", " NENANA,AK 99760"),
}


@dataclass(frozen=True)
class Step:
    """One message of an order's life: an ORDER status or a LOGISTIC trackingStatus."""

    topic: str
    claims: str  # the status of ours it may move the fulfillment to
    order_status: str | None = None
    tracking_status: int | None = None
    carries_number: bool = True


LIFECYCLE = (
    Step("ORDER", "unshipped", order_status="UNSHIPPED", carries_number=False),
    Step("ORDER", "shipped", order_status="SHIPPED"),
    Step("LOGISTIC", "shipped", tracking_status=1),
    Step("LOGISTIC", "shipped", tracking_status=5),
    Step("LOGISTIC", "shipped", tracking_status=6),
    Step("LOGISTIC", "shipped", tracking_status=10),
    Step("LOGISTIC", "delivered", tracking_status=12),
    Step("ORDER", "delivered", order_status="DELIVERED"),
)
# Out of order: the LOGISTIC "delivered" goes where ORDER "shipped" would, and back.
SWAPPED = (1, 6)


@dataclass(frozen=True)
class SeededOrder:
    """A fulfillment the benchmark puts in the database: status `created`, at CJ."""

    fulfillment_id: str  # also the CJ orderNumber, as the service makes them
    cj_order_id: str  # 18 digits: above 2**53, as CJ's are
    tracking_number: str
    created_at: datetime


@dataclass(frozen=True)
class Message:
    message_id: str
    fulfillment_id: str
    topic: str
    claims: str
    tracking_number: str | None
    scans: frozenset[tuple[str, int, str]]  # (eventTime, status, activity) of each scan
    post: Post


@dataclass
class LevelTraffic:
    rate: float
    orders: list[SeededOrder]
    deliveries: list[Message]  # in sending order; a duplicate is the same Message again
    out_of_order: int  # orders whose delivered message goes out before their shipped one

    @property
    def duplicates(self) -> int:
        return len(self.deliveries) - len({m.message_id for m in self.deliveries})


def sign(raw_body: bytes, open_id: str) -> str:
    digest = hmac.new(open_id.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def make_orders(rng: random.Random, count: int, first_cj_id: int) -> list[SeededOrder]:
    start = datetime(2026, 3, 2, 9, 0, 0)
    return [
        SeededOrder(
            fulfillment_id=f"ful_{rng.getrandbits(128):032x}",
            cj_order_id=str(first_cj_id + 7919 * n),
            tracking_number=f"CJPKL{rng.randrange(10**12, 10**13)}YQ",
            created_at=start + timedelta(minutes=3 * n),
        )
        for n in range(count)
    ]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _scan(order: SeededOrder, tracking_status: int) -> dict[str, Any]:
    desc, activity, location = SCANS[tracking_status]
    at = _when(order.created_at + timedelta(days=1 + list(SCANS).index(tracking_status) * 2))
    return {
        "status": tracking_status,
        "activity": activity,
        "location": location,
        "eventTime": at,
        "statusDesc": desc,
        "thirdActivity": activity.strip(),
        "thirdLocation": location.strip(),
        "thirdEventTime": at,
    }


def _order_params(order: SeededOrder, step: Step) -> dict[str, Any]:
    shipped = step.order_status in ("SHIPPED", "DELIVERED")
    delivered = step.order_status == "DELIVERED"
    return {
        "orderNumber": order.fulfillment_id,
        "cjOrderId": int(order.cj_order_id),
        "orderStatus": step.order_status,
        "logisticName": LOGISTIC_NAME,
        "trackNumber": order.tracking_number if shipped else None,
        "trackingUrl": f"https://cjpacket.com/?trackingNumber={order.tracking_number}"
        if shipped
        else None,
        "createDate": _when(order.created_at),
        "updateDate": _when(order.created_at + timedelta(days=10 if delivered else 1)),
        "payDate": _when(order.created_at + timedelta(minutes=5)),
        "deliveryDate": _when(order.created_at + timedelta(days=1)) if shipped else None,
        "completeDate": _when(order.created_at + timedelta(days=10)) if delivered else None,
        "orderItems": [
            {
                "vid": "1392053744945991680",
                "quantity": 1,
                "sellPrice": 0.57,
                "lineItemId": "2505170958390976500",
                "storeLineItemId": "16045188153625",
                "productionOrderStatus": 1,
                "abnormalType": [],
            }
        ],
    }


def _logistic_params(order: SeededOrder, step: Step) -> tuple[dict[str, Any], list[Any]]:
    assert step.tracking_status is not None
    scans = [_scan(order, code) for code in SCANS if code <= step.tracking_status]
    params = {
        "orderId": int(order.cj_order_id),
        "logisticName": LOGISTIC_NAME,
        "trackingNumber": order.tracking_number,
        "trackingStatus": step.tracking_status,
        "logisticsTrackEvents": json.dumps(scans),
    }
    return params, scans


def make_message(rng: random.Random, order: SeededOrder, step: Step, open_id: str) -> Message:
    message_id = f"{rng.getrandbits(128):032x}"
    envelope: dict[str, Any] = {"messageId": message_id, "type": step.topic}
    scans: list[Any] = []
    if step.topic == "ORDER":
        envelope |= {"messageType": "UPDATE", "params": _order_params(order, step)}
    else:
        params, scans = _logistic_params(order, step)
        envelope |= {"messageType": "UPDATE", "openId": int(open_id), "params": params}
    body = json.dumps(envelope, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "sign": sign(body, open_id)}
    return Message(
        message_id=message_id,
        fulfillment_id=order.fulfillment_id,
        topic=step.topic,
        claims=step.claims,
        tracking_number=order.tracking_number if step.carries_number else None,
        scans=frozenset((s["eventTime"], s["status"], s["activity"].strip()) for s in scans),
        post=Post(body=body, headers=headers),
    )


def plan_level(
    rng: random.Random,
    orders: list[SeededOrder],
    rate: float,
    open_id: str,
    *,
    duplicate_share: float,
    out_of_order_share: float,
) -> LevelTraffic:
    """Every message of `orders` in rounds, with the duplicates and the swaps mixed in."""
    swapped = {o.fulfillment_id for o in orders if rng.random() < out_of_order_share}
    lifecycles: dict[str, list[Step]] = {}
    for order in orders:
        steps = list(LIFECYCLE)
        if order.fulfillment_id in swapped:
            first, second = SWAPPED
            steps[first], steps[second] = steps[second], steps[first]
        lifecycles[order.fulfillment_id] = steps
    sequence: list[Message] = []
    for round_number in range(len(LIFECYCLE)):
        for order in rng.sample(orders, k=len(orders)):
            step = lifecycles[order.fulfillment_id][round_number]
            sequence.append(make_message(rng, order, step, open_id))
    # Sort keys: position in the sequence; a second delivery lands behind its first, either
    # within a few messages (in flight together) or up to two seconds' worth later.
    keyed = [(float(position), message) for position, message in enumerate(sequence)]
    for position, message in enumerate(sequence):
        if rng.random() < duplicate_share:
            later = rng.randint(1, 4) if rng.random() < 0.5 else rng.randint(5, int(2 * rate) + 5)
            keyed.append((position + later + 0.5, message))
    keyed.sort(key=lambda pair: pair[0])
    return LevelTraffic(
        rate=rate,
        orders=orders,
        deliveries=[message for _, message in keyed],
        out_of_order=len(swapped),
    )
