"""Tracking against a real cjsim: CJ's signed webhooks on the secret path token applied by
a real service's worker, other claims (unsigned, or signed without the token) confirmed
with getOrderDetail, and a lost webhook healed by the poller."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from standardwebhooks.webhooks import Webhook

from app.container import Container
from tests.e2e.fulfillments import SIM_QPS, app_for, body, fulfillment_settings, key, running
from tests.e2e.support import ServiceProcess
from tests.fixtures.receiver import ReceivedRequest, Receiver, running_receiver

API_KEY = "e2e-tracking-key"


def container(app: FastAPI) -> Container:
    found: Container = app.state.container
    return found


async def create(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/v1/fulfillments", json=body(), headers=key())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def advance(sim: httpx.AsyncClient, cj_order_id: str, status: str) -> dict[str, Any]:
    response = await sim.post(f"/_sim/orders/{cj_order_id}/advance", json={"status": status})
    assert response.status_code == 200, response.text
    moved: dict[str, Any] = response.json()
    return moved


class TestInProcess:
    @pytest.fixture
    def app(self, sim: httpx.AsyncClient, service_env: dict[str, str]) -> FastAPI:
        return app_for(
            fulfillment_settings(
                service_env, cj_webhook_verify="log", tracking_poll_quiet_seconds=0.001
            )
        )

    @pytest.fixture
    async def client(
        self, app: FastAPI, sim: httpx.AsyncClient
    ) -> AsyncIterator[httpx.AsyncClient]:
        await sim.post("/_sim/config", json={"qps": SIM_QPS})
        async for c in running(app):
            yield c

    async def test_a_lost_webhook_is_healed_by_the_poller(
        self, app: FastAPI, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        created = await create(client)
        moved = await advance(sim, created["cj_order_id"], "SHIPPED")
        assert moved["webhooks"] == []  # no callback registered: the webhook is lost

        assert await container(app).tracking_readback.poll_due() >= 1
        shown = (await client.get(f"/v1/fulfillments/{created['id']}")).json()
        assert shown["status"] == "shipped"
        assert [t["number"] for t in shown["tracking"]] == [moved["order"]["trackNumber"]]
        history = (await client.get(f"/v1/fulfillments/{created['id']}/events")).json()
        assert history["events"][-1]["source"] == "poller"
        # getOrderDetail has no carrier: trackInfo's last-mile carrier and number fill it in.
        number = moved["order"]["trackNumber"]
        info = await container(app).cj.track_info([number])
        assert info[0].last_track_number != number
        assert (shown["tracking"][0]["carrier"], shown["tracking"][0]["last_mile_number"]) == (
            info[0].last_mile_carrier,
            info[0].last_track_number,
        )

    async def test_an_unsigned_claim_is_confirmed_with_cj_before_it_counts(
        self, app: FastAPI, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        shipped, untouched = await create(client), await create(client)
        moved = await advance(sim, shipped["cj_order_id"], "SHIPPED")

        def claim(fulfillment: dict[str, Any], status: str) -> bytes:
            params = {"orderNumber": fulfillment["cj_order_number"], "orderStatus": status}
            message = {"messageId": uuid.uuid4().hex, "type": "ORDER", "params": params}
            return json.dumps(message).encode()

        # True for the first order; a lie (CJ still has it CREATED) for the second.
        for fulfillment, status in ((shipped, "SHIPPED"), (untouched, "CANCELLED")):
            response = await client.post("/webhooks/cj", content=claim(fulfillment, status))
            assert response.status_code == 200
        assert await container(app).webhook_applier.apply_due() == 2
        for fulfillment in (shipped, untouched):
            shown = (await client.get(f"/v1/fulfillments/{fulfillment['id']}")).json()
            assert shown["status"] == "created"  # nothing moves before CJ confirms

        assert await container(app).tracking_readback.confirm_due() == 2
        first = (await client.get(f"/v1/fulfillments/{shipped['id']}")).json()
        second = (await client.get(f"/v1/fulfillments/{untouched['id']}")).json()
        assert first["status"] == "shipped"
        assert first["tracking"][0]["number"] == moved["order"]["trackNumber"]
        assert second["status"] == "created"

    async def test_confirmation_waits_while_cj_is_down(
        self, app: FastAPI, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        created = await create(client)
        await advance(sim, created["cj_order_id"], "SHIPPED")
        message = {
            "messageId": uuid.uuid4().hex,
            "type": "ORDER",
            "params": {"orderNumber": created["cj_order_number"], "orderStatus": "SHIPPED"},
        }
        assert (await client.post("/webhooks/cj", json=message)).status_code == 200
        await container(app).webhook_applier.apply_due()
        await sim.post("/_sim/config", json={"mode": "down"})
        assert await container(app).tracking_readback.confirm_due() == 0
        await sim.post("/_sim/config", json={"mode": "up"})
        assert await container(app).tracking_readback.confirm_due() == 0  # not due yet: backoff
        shown = (await client.get(f"/v1/fulfillments/{created['id']}")).json()
        assert shown["status"] == "created"

    async def test_forged_signed_messages_wait_for_cj_and_cancel_deletes_only_our_order(
        self, app: FastAPI, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        """CJ puts the openId (the `sign` key) in its bodies: whoever saw one delivery can
        sign. Without the path token, such messages wait for CJ, which says otherwise."""
        ours, other = await create(client), await create(client)
        open_id = await container(app).cj.tokens.open_id()
        assert open_id is not None
        number, own_id = ours["cj_order_number"], int(ours["cj_order_id"])
        forged = [
            (
                "ORDER",
                "ORDER_CONNNECTED",
                {
                    "orderNumber": number,
                    "cjOrderId": int(other["cj_order_id"]),
                    "orderStatus": "CREATED",
                },
            ),
            (
                "ORDER",
                "UPDATE",
                {
                    "orderNumber": number,
                    "cjOrderId": own_id,
                    "orderStatus": "DELIVERED",
                    "trackNumber": "EVIL1",
                    "trackingUrl": "https://evil.example/t",
                },
            ),
            (
                "LOGISTIC",
                "UPDATE",
                {
                    "orderId": own_id,
                    "trackingNumber": "EVIL2",
                    "trackingStatus": 12,
                    "logisticsTrackEvents": "[]",
                },
            ),
            (
                "ORDER",
                "UPDATE",
                {"orderNumber": number, "cjOrderId": own_id, "orderStatus": "CANCELLED"},
            ),
        ]
        for topic, kind, params in forged:
            message = {
                "messageId": uuid.uuid4().hex,
                "type": topic,
                "messageType": kind,
                "openId": int(open_id),
                "params": params,
            }
            body = json.dumps(message).encode()
            mac = hmac.new(open_id.encode(), body, hashlib.sha256).digest()
            headers = {"Content-Type": "application/json", "sign": base64.b64encode(mac).decode()}
            assert (
                await client.post("/webhooks/cj", content=body, headers=headers)
            ).status_code == 200
        assert await container(app).webhook_applier.apply_due() == 4
        assert await container(app).tracking_readback.confirm_due() == 4  # CJ: still CREATED

        shown = (await client.get(f"/v1/fulfillments/{ours['id']}")).json()
        assert (shown["status"], shown["cj_order_id"], shown["tracking"]) == (
            "created",
            ours["cj_order_id"],
            [],
        )
        response = await client.post(f"/v1/fulfillments/{ours['id']}/cancel")
        assert response.json()["status"] == "cancelled", response.text
        at_cj = {
            o["orderId"]: o["orderStatus"] for o in (await sim.get("/_sim/orders")).json()["orders"]
        }
        assert at_cj == {ours["cj_order_id"]: "CANCELLED", other["cj_order_id"]: "CREATED"}


PATH_TOKEN = "e2e-path-token"


@pytest.fixture
def service(service_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {
        **service_env,
        "SERVICE_API_KEYS": API_KEY,
        "CJ_QPS": str(SIM_QPS),
        "CJ_WEBHOOK_VERIFY": "enforce",
        "CJ_WEBHOOK_PATH_TOKEN": PATH_TOKEN,
        "RUN_WORKER_IN_PROCESS": "true",
        "WEBHOOK_APPLY_POLL_SECONDS": "0.05",
    }
    process = ServiceProcess(env, tmp_path / "service.log")
    try:
        process.wait_until_up()
        yield process
    finally:
        process.stop()


async def register_callbacks(service_env: dict[str, str], url: str) -> None:
    """What `cj-fulfillment cj webhooks register --url URL` does, for this CJ account."""
    built = Container.build(fulfillment_settings(service_env), process="e2e-register")
    try:
        assert await built.cj.set_webhooks(order_url=url, logistics_url=url)
    finally:
        await built.close()


async def test_cj_signed_webhooks_move_a_fulfillment_to_delivered(
    sim: httpx.AsyncClient, service: ServiceProcess, service_env: dict[str, str]
) -> None:
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=20) as client:
        created = await create(client)  # buys the token: the openId is known from now on
        await register_callbacks(service_env, f"{service.base_url}/webhooks/cj/{PATH_TOKEN}")

        async def status_becomes(status: str) -> dict[str, Any]:
            for _ in range(200):
                shown: dict[str, Any] = (
                    await client.get(f"/v1/fulfillments/{created['id']}")
                ).json()
                if shown["status"] == status:
                    return shown
                await asyncio.sleep(0.05)
            raise AssertionError(f"the worker never applied {status}")

        shipped = await advance(sim, created["cj_order_id"], "SHIPPED")
        assert [w["status_code"] for w in shipped["webhooks"]] == [200, 200]  # ORDER, LOGISTIC
        shown = await status_becomes("shipped")
        assert shown["tracking"][0]["number"] == shipped["order"]["trackNumber"]

        delivered = await advance(sim, created["cj_order_id"], "DELIVERED")
        assert [w["status_code"] for w in delivered["webhooks"]] == [200, 200]
        shown = await status_becomes("delivered")
        assert len(shown["tracking"]) == 1
        history = (await client.get(f"/v1/fulfillments/{created['id']}/events")).json()
        assert [(e["source"], e["to"]) for e in history["events"][-2:]] == [
            ("webhook", "shipped"),
            ("webhook", "delivered"),
        ]


NOTIFY_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
MEDUSA_KEY = "sk_e2e_0123456789abcdef"


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[Receiver, Receiver]]:
    """The store's webhook receiver and a fake Medusa Admin API."""
    async with running_receiver() as store, running_receiver() as medusa:
        yield store, medusa


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_full_path_to_delivered_notifies_the_store_and_medusa_once_each(
    sim: httpx.AsyncClient,
    service_env: dict[str, str],
    receivers: tuple[Receiver, Receiver],
    tmp_path: Path,
) -> None:
    store, medusa = receivers
    store.respond(503, times=2)  # the store's receiver is down at first
    env = {
        **service_env,
        "SERVICE_API_KEYS": API_KEY,
        "CJ_QPS": str(SIM_QPS),
        "RUN_WORKER_IN_PROCESS": "true",
        "WORKER_POLL_SECONDS": "0.2",
        "CJ_WEBHOOK_PATH_TOKEN": PATH_TOKEN,
        "OUTBOX_RETRY_INITIAL_SECONDS": "0.5",
        "NOTIFY_URL": f"{store.url}/hooks/cj-fulfillment",
        "NOTIFY_SECRET": NOTIFY_SECRET,
        "MEDUSA_URL": medusa.url,
        "MEDUSA_SECRET_KEY": MEDUSA_KEY,
    }
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    service = ServiceProcess(env, tmp_path / "service.log")
    try:
        service.wait_until_up()
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=20) as c:
            request = body()
            response = await c.post("/v1/fulfillments", json=request, headers=key())
            assert response.status_code == 201, response.text
            created = response.json()
            await register_callbacks(service_env, f"{service.base_url}/webhooks/cj/{PATH_TOKEN}")
            shipped = await advance(sim, created["cj_order_id"], "SHIPPED")
            await wait_for(lambda: len(admin_calls(medusa)) >= 1, "Medusa's shipment call")
            await advance(sim, created["cj_order_id"], "DELIVERED")
            await wait_for(lambda: len(admin_calls(medusa)) >= 2, "Medusa's delivered call")
            await wait_for(lambda: len(data_calls(medusa)) >= 3, "the plugin's data calls")
            await wait_for(lambda: len(delivered_events(store)) >= 3, "three notifications")
            shown = (await c.get(f"/v1/fulfillments/{created['id']}")).json()
        await asyncio.sleep(1.5)  # anything sent twice would have arrived by now
    finally:
        service.stop()

    number = shipped["order"]["trackNumber"]
    assert shown["status"] == "delivered"
    assert [t["number"] for t in shown["tracking"]] == [number]

    # The store: every notification once, in order, signed (Standard Webhooks).
    events = delivered_events(store)
    assert [e["type"] for e in events] == [
        "fulfillment.cj_order_created",
        "fulfillment.shipped",
        "fulfillment.delivered",
    ]
    assert len({e["id"] for e in events}) == 3
    assert events[-1]["data"]["tracking"][0]["number"] == number
    assert len(store.requests) == 5  # two refused while down, then each one once

    # Medusa: the shipment with the line items and the label, then mark-as-delivered.
    base = f"/admin/orders/{created['order_id']}/fulfillments/{created['external_id']}"
    assert [r.path for r in admin_calls(medusa)] == [
        f"{base}/shipments",
        f"{base}/mark-as-delivered",
    ]
    assert {r.headers["authorization"] for r in medusa.requests} == {f"Basic {MEDUSA_KEY}"}
    shipment = json.loads(admin_calls(medusa)[0].body)
    assert [label["tracking_number"] for label in shipment["labels"]] == [number]
    assert shipment["items"] == [
        {"id": item["line_item_id"], "quantity": item["quantity"]} for item in request["items"]
    ]
    # The plugin's route: each change once, in order, the last one delivered with tracking.
    updates = [json.loads(r.body) for r in data_calls(medusa)]
    assert [u["status"] for u in updates] == ["created", "shipped", "delivered"]
    assert {u["cj_order_id"] for u in updates} == {created["cj_order_id"]}
    assert [t["number"] for t in updates[-1]["tracking"]] == [number]


def data_calls(medusa: Receiver) -> list[ReceivedRequest]:
    """Calls to the medusa-fulfillment-cj plugin's route (the `medusa_data` sink)."""
    return [r for r in medusa.requests if r.path.endswith("/cj-data")]


def admin_calls(medusa: Receiver) -> list[ReceivedRequest]:
    """Calls to Medusa's own Admin API (the `medusa` sink)."""
    return [r for r in medusa.requests if not r.path.endswith("/cj-data")]


def delivered_events(store: Receiver) -> list[dict[str, Any]]:
    """The notifications the store accepted (2xx), each checked against its signature."""
    return [Webhook(NOTIFY_SECRET).verify(r.body, r.headers) for r in store.requests[2:]]
