"""`/_sim/orders/{id}/advance` sends signed ORDER and LOGISTIC webhooks to a real receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.cjsim.support import CJ, FakeClock


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    raw: bytes


@dataclass
class Receiver:
    base_url: str
    deliveries: list[Delivery] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    """A tiny webhook receiver served by uvicorn on a free port, in this event loop."""
    app = FastAPI()
    port = free_port()
    state = Receiver(base_url=f"http://127.0.0.1:{port}")

    @app.post("/hooks/{name}")
    async def hook(name: str, request: Request) -> JSONResponse:
        state.deliveries.append(
            Delivery(f"/hooks/{name}", dict(request.headers), await request.body())
        )
        status = 500 if name == "broken" else 200
        return JSONResponse({"code": 200, "result": "success", "message": "ok"}, status)

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield state
    server.should_exit = True
    await task


@pytest.fixture
async def subscribed(cj: CJ, receiver: Receiver) -> Receiver:
    receiver.deliveries.clear()
    body = {
        "order": {"type": "ENABLE", "callbackUrls": [f"{receiver.base_url}/hooks/order"]},
        "logistics": {"type": "ENABLE", "callbackUrls": [f"{receiver.base_url}/hooks/logistics"]},
        "product": {"type": "CANCEL", "callbackUrls": []},
        "stock": {"type": "CANCEL", "callbackUrls": []},
    }
    assert (await cj.post("/webhook/set", body))["data"] is True
    return receiver


def expected_sign(raw: bytes, open_id: int) -> str:
    return base64.b64encode(hmac.new(str(open_id).encode(), raw, hashlib.sha256).digest()).decode()


async def advance(cj: CJ, order_id: str, **body: object) -> dict[str, object]:
    response = await cj.client.post(f"/_sim/orders/{order_id}/advance", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


async def test_shipped_sends_signed_order_and_logistic_webhooks(
    cj: CJ, subscribed: Receiver
) -> None:
    order_id = (await cj.create_ok(payType=2))["orderId"]
    result = await advance(cj, order_id, status="SHIPPED")
    reports = result["webhooks"]
    assert isinstance(reports, list)
    assert [(r["type"], r["status_code"]) for r in reports] == [("ORDER", 200), ("LOGISTIC", 200)]
    order_view = result["order"]
    assert isinstance(order_view, dict)
    assert order_view["orderStatus"] == "SHIPPED"
    track = order_view["trackNumber"]
    assert track

    order_hook, logistic_hook = subscribed.deliveries
    assert order_hook.path == "/hooks/order"
    assert logistic_hook.path == "/hooks/logistics"
    for hook in (order_hook, logistic_hook):
        assert hook.headers["content-type"] == "application/json"
        assert hook.headers["sign"] == expected_sign(hook.raw, cj.open_id)

    # The big ids travel as raw JSON numbers, not strings.
    assert re.search(rb'"cjOrderId":' + order_id.encode() + rb"[,}]", order_hook.raw)
    assert re.search(rb'"orderId":' + order_id.encode() + rb"[,}]", logistic_hook.raw)
    order_msg = json.loads(order_hook.raw)
    assert order_msg["type"] == "ORDER"
    assert order_msg["messageType"] == "UPDATE"
    assert "openId" not in order_msg  # CJ's ORDER sample has none (API_FACTS §3.4)
    params = order_msg["params"]
    assert params["cjOrderId"] == int(order_id)
    assert params["cjOrderId"] > 2**53
    assert params["orderNumber"] == "ful_0001"
    assert params["orderStatus"] == "SHIPPED"
    assert params["trackNumber"] == track
    assert params["logisticName"] == "USPS+"
    assert params["payDate"] is not None
    assert params["completeDate"] is None
    assert params["orderItems"][0]["storeLineItemId"] == "li_1"

    logistic = json.loads(logistic_hook.raw)
    assert logistic["type"] == "LOGISTIC"
    assert logistic["openId"] == cj.open_id  # a JSON number, as in CJ's LOGISTIC sample
    assert isinstance(logistic["openId"], int)
    lp = logistic["params"]
    assert lp["orderId"] == int(order_id)
    assert lp["trackingNumber"] == track
    assert lp["trackingStatus"] == 5
    assert lp["storeOrderNumbers"] == ["ful_0001"]
    assert isinstance(lp["logisticsTrackEvents"], str)
    events = json.loads(lp["logisticsTrackEvents"])
    assert [e["status"] for e in events] == [1, 5]
    assert order_msg["messageId"] != logistic["messageId"]

    stats = (await cj.client.get("/_sim/stats")).json()
    assert stats["webhooks_sent"] == 2


async def test_delivered_with_given_track_number(cj: CJ, subscribed: Receiver) -> None:
    order_id = (await cj.create_ok(payType=2))["orderId"]
    await advance(cj, "ful_0001", status="SHIPPED", track_number="9400111899223344556677")
    result = await advance(cj, order_id, status="DELIVERED")
    order_view = result["order"]
    assert isinstance(order_view, dict)
    assert order_view["trackNumber"] == "9400111899223344556677"
    order_msg = json.loads(subscribed.deliveries[2].raw)
    logistic = json.loads(subscribed.deliveries[3].raw)
    assert order_msg["params"]["orderStatus"] == "DELIVERED"
    assert order_msg["params"]["completeDate"] is not None
    assert logistic["params"]["trackingStatus"] == 12
    assert logistic["params"]["trackingNumber"] == "9400111899223344556677"
    assert json.loads(logistic["params"]["logisticsTrackEvents"])[-1]["status"] == 12
    ids = [json.loads(d.raw)["messageId"] for d in subscribed.deliveries]
    assert len(set(ids)) == len(ids) == 4
    detail = (await cj.detail(order_id))["data"]
    assert detail["orderStatus"] == "DELIVERED"
    assert detail["trackNumber"] == "9400111899223344556677"


async def test_unpaid_move_sends_only_order_webhook(cj: CJ, subscribed: Receiver) -> None:
    order_id = (await cj.create_ok())["orderId"]
    result = await advance(cj, order_id, status="UNPAID")
    reports = result["webhooks"]
    assert isinstance(reports, list)
    assert [r["type"] for r in reports] == ["ORDER"]
    assert json.loads(subscribed.deliveries[0].raw)["params"]["trackNumber"] is None


async def test_unsigned_and_failing_deliveries(cj: CJ, receiver: Receiver) -> None:
    receiver.deliveries.clear()
    await cj.post(
        "/webhook/set",
        {
            "order": {"type": "ENABLE", "callbackUrls": [f"{receiver.base_url}/hooks/broken"]},
            "logistics": {"type": "ENABLE", "callbackUrls": ["http://127.0.0.1:9/closed"]},
        },
    )
    await cj.client.post("/_sim/config", json={"sign_webhooks": False})
    order_id = (await cj.create_ok(payType=2))["orderId"]
    result = await advance(cj, order_id, status="SHIPPED")
    reports = result["webhooks"]
    assert isinstance(reports, list)
    order_report, logistic_report = reports
    assert order_report["status_code"] == 500
    assert "error" in logistic_report
    (delivery,) = receiver.deliveries
    assert "sign" not in delivery.headers


async def test_advance_rules(cj: CJ) -> None:
    order_id = (await cj.create_ok(payType=2))["orderId"]
    assert (await advance(cj, order_id, status="SHIPPED"))["webhooks"] == []  # no callbacks
    back = await cj.client.post(f"/_sim/orders/{order_id}/advance", json={"status": "UNPAID"})
    assert back.status_code == 409
    unknown = await cj.client.post(f"/_sim/orders/{order_id}/advance", json={"status": "LOST"})
    assert unknown.status_code == 422
    missing = await cj.client.post("/_sim/orders/404/advance", json={"status": "SHIPPED"})
    assert missing.status_code == 404
    listed = (await cj.client.get("/_sim/orders")).json()["orders"]
    assert [o["orderId"] for o in listed] == [order_id]


async def subscribe_broken(cj: CJ, receiver: Receiver) -> None:
    body = {"order": {"type": "ENABLE", "callbackUrls": [f"{receiver.base_url}/hooks/broken"]}}
    assert (await cj.post("/webhook/set", body))["data"] is True


async def test_a_failed_delivery_is_retried_after_5_minutes_3_times_with_its_message_id(
    cj: CJ, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.deliveries.clear()
    await subscribe_broken(cj, receiver)
    order_id = (await cj.create_ok())["orderId"]
    await advance(cj, order_id, status="IN_CART")
    for _ in range(4):
        clock.advance(299)
        assert (await cj.client.post("/_sim/webhooks/retry")).json()["webhooks"] == []
        clock.advance(1)
        await cj.client.post("/_sim/webhooks/retry")
    ids = [json.loads(d.raw)["messageId"] for d in receiver.deliveries]
    assert len(ids) == 4  # the delivery and 3 retries, then dropped
    assert len(set(ids)) == 1


async def test_a_topic_below_80_percent_in_two_full_hours_is_switched_off(
    cj: CJ, receiver: Receiver, clock: FakeClock
) -> None:
    await subscribe_broken(cj, receiver)
    order_id = (await cj.create_ok())["orderId"]
    clock.advance(3600 - clock() % 3600)  # the start of a full hour
    await advance(cj, order_id, status="IN_CART")
    clock.advance(3600)
    await advance(cj, order_id, status="IN_CART")
    assert (await cj.client.get("/_sim/webhooks/closed")).json()["closed"] == []
    clock.advance(3600)
    await advance(cj, order_id, status="IN_CART")  # both previous hours: 0 % success
    [closed] = (await cj.client.get("/_sim/webhooks/closed")).json()["closed"]
    assert closed["topic"] == "order"
    settings = await cj.get("/setting/get")
    assert settings["data"]["callback"]["order"]["type"] == "CANCEL"


async def test_tracking_problems_and_splits_are_sent_as_cj_documents_them(
    cj: CJ, subscribed: Receiver
) -> None:
    order_id = (await cj.create_ok(payType=2))["orderId"]
    await advance(cj, order_id, status="SHIPPED")
    subscribed.deliveries.clear()
    for status in (13, 14):
        response = await cj.client.post(
            f"/_sim/orders/{order_id}/tracking-problem", json={"tracking_status": status}
        )
        assert response.status_code == 200, response.text
    statuses = [json.loads(d.raw)["params"]["trackingStatus"] for d in subscribed.deliveries]
    assert statuses == [13, 14]
    split = await cj.client.post(f"/_sim/orders/{order_id}/split", json={"parts": 2})
    parcels = split.json()["parcels"]
    message = json.loads(subscribed.deliveries[-1].raw)
    assert (message["type"], subscribed.deliveries[-1].path) == ("ORDERSPLIT", "/hooks/order")
    assert message["params"]["originalOrderId"] == int(order_id)
    assert [o["orderCode"] for o in message["params"]["splitOrderList"]] == parcels
