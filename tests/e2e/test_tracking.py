"""Tracking against a real cjsim: CJ's signed webhooks on the secret path token applied by
a real service's worker, other claims (unsigned, or signed without the token) confirmed
with getOrderDetail, and a lost webhook healed by the poller."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from app.container import Container
from app.db.models import Fulfillment, FulfillmentParcel
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


async def post_signed(
    client: httpx.AsyncClient, open_id: str, topic: str, kind: str, params: dict[str, Any]
) -> None:
    """A message signed as CJ signs (anyone who saw a delivery knows the openId), posted
    without the path token."""
    message = {
        "messageId": uuid.uuid4().hex,
        "type": topic,
        "messageType": kind,
        "openId": int(open_id),
        "params": params,
    }
    content = json.dumps(message).encode()
    mac = hmac.new(open_id.encode(), content, hashlib.sha256).digest()
    headers = {"Content-Type": "application/json", "sign": base64.b64encode(mac).decode()}
    assert (await client.post("/webhooks/cj", content=content, headers=headers)).status_code == 200


async def orders_at_cj(sim: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """cjsim's orders by our orderNumber."""
    return {o["orderNumber"]: o for o in (await sim.get("/_sim/orders")).json()["orders"]}


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
            await post_signed(client, open_id, topic, kind, params)
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

    async def test_an_order_placed_without_an_id_gets_cjs_own_not_a_forged_one(
        self, app: FastAPI, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        """CJ returns no orderId for non-CJ SKUs (seed 004 §1.1). A signed ORDER_CONNNECTED
        naming another order's id, without the path token, must not point ours at it: the
        worker asks CJ by our orderNumber, and the cancel deletes only our own order."""
        [poster] = (await sim.get("/_sim/catalog")).json()["non_cj_variants"]
        items = [{"line_item_id": "li_1", "vid": poster["vid"], "quantity": 1}]
        response = await client.post("/v1/fulfillments", json=body(items=items), headers=key())
        assert response.status_code == 201, response.text
        ours, other = response.json(), await create(client)
        assert ours["cj_order_id"] is None
        open_id = await container(app).cj.tokens.open_id()
        assert open_id is not None
        params = {
            "orderNumber": ours["cj_order_number"],
            "cjOrderId": int(other["cj_order_id"]),
            "orderStatus": "CREATED",
        }
        await post_signed(client, open_id, "ORDER", "ORDER_CONNNECTED", params)

        assert await container(app).webhook_applier.apply_due() == 1
        shown = (await client.get(f"/v1/fulfillments/{ours['id']}")).json()
        assert shown["cj_order_id"] is None  # nothing before CJ answers
        assert await container(app).tracking_readback.confirm_due() == 1
        own_id = (await orders_at_cj(sim))[ours["cj_order_number"]]["orderId"]
        shown = (await client.get(f"/v1/fulfillments/{ours['id']}")).json()
        assert shown["cj_order_id"] == own_id != other["cj_order_id"]

        response = await client.post(f"/v1/fulfillments/{ours['id']}/cancel")
        assert response.json()["status"] == "cancelled", response.text
        at_cj = await orders_at_cj(sim)
        assert at_cj[ours["cj_order_number"]]["orderStatus"] == "CANCELLED"
        assert at_cj[other["cj_order_number"]]["orderStatus"] == "CREATED"

    async def test_a_true_logistic_claim_counts_once_cj_confirms_its_number(
        self, app: FastAPI, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        """A LOGISTIC message without the path token claiming delivered, for the number CJ
        really shipped: what counts is CJ's word (shipped, not delivered); its scans are
        kept because CJ confirms the number, and trackInfo names the last-mile carrier."""
        created = await create(client)
        moved = await advance(sim, created["cj_order_id"], "SHIPPED")
        number = moved["order"]["trackNumber"]
        open_id = await container(app).cj.tokens.open_id()
        assert open_id is not None
        scan = {"status": 12, "activity": "Delivered", "eventTime": "2026-12-01 10:00:00"}
        params = {
            "orderId": int(created["cj_order_id"]),
            "trackingNumber": number,
            "trackingStatus": 12,
            "logisticsTrackEvents": json.dumps([scan]),
        }
        await post_signed(client, open_id, "LOGISTIC", "UPDATE", params)

        assert await container(app).webhook_applier.apply_due() == 1
        shown = (await client.get(f"/v1/fulfillments/{created['id']}")).json()
        assert (shown["status"], shown["tracking"]) == ("created", [])
        assert await container(app).tracking_readback.confirm_due() == 1
        shown = (await client.get(f"/v1/fulfillments/{created['id']}")).json()
        assert shown["status"] == "shipped"
        [info] = await container(app).cj.track_info([number])
        [label] = shown["tracking"]
        assert (label["number"], label["carrier"]) == (number, info.last_mile_carrier)
        async with container(app).sessionmaker() as session:
            stored = await session.get_one(Fulfillment, created["id"])
        assert [e["activity"] for e in stored.tracking_events] == ["Delivered"]


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


async def status_becomes(
    client: httpx.AsyncClient, fulfillment_id: str, status: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown: dict[str, Any] = (await client.get(f"/v1/fulfillments/{fulfillment_id}")).json()
        if shown["status"] == status:
            return shown
        await asyncio.sleep(0.05)
    raise AssertionError(f"the worker never applied {status}")


async def test_cj_signed_webhooks_move_a_fulfillment_to_delivered(
    sim: httpx.AsyncClient, service: ServiceProcess, service_env: dict[str, str]
) -> None:
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=20) as client:
        created = await create(client)  # buys the token: the openId is known from now on
        await register_callbacks(service_env, f"{service.base_url}/webhooks/cj/{PATH_TOKEN}")

        shipped = await advance(sim, created["cj_order_id"], "SHIPPED")
        assert [w["status_code"] for w in shipped["webhooks"]] == [200, 200]  # ORDER, LOGISTIC
        shown = await status_becomes(client, created["id"], "shipped")
        assert shown["tracking"][0]["number"] == shipped["order"]["trackNumber"]

        delivered = await advance(sim, created["cj_order_id"], "DELIVERED")
        assert [w["status_code"] for w in delivered["webhooks"]] == [200, 200]
        shown = await status_becomes(client, created["id"], "delivered")
        assert len(shown["tracking"]) == 1
        history = (await client.get(f"/v1/fulfillments/{created['id']}/events")).json()
        assert [(e["source"], e["to"]) for e in history["events"][-2:]] == [
            ("webhook", "shipped"),
            ("webhook", "delivered"),
        ]


async def test_cjs_problem_and_split_webhooks_reach_the_fulfillment(
    sim: httpx.AsyncClient,
    service: ServiceProcess,
    service_env: dict[str, str],
    clean_db: AsyncEngine,
) -> None:
    """What cjsim sends as CJ documents it (ORDERSPLIT, LOGISTIC trackingStatus 13 and 14,
    one of them about a split parcel) on the path token, applied by the service's worker."""
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=20) as client:
        created = await create(client)
        await register_callbacks(service_env, f"{service.base_url}/webhooks/cj/{PATH_TOKEN}")
        await advance(sim, created["cj_order_id"], "SHIPPED")
        await status_becomes(client, created["id"], "shipped")

        split = await sim.post(f"/_sim/orders/{created['cj_order_id']}/split", json={"parts": 2})
        parcels = split.json()["parcels"]
        assert [w["status_code"] for w in split.json()["webhooks"]] == [200]
        for tracking_status, parcel in ((13, None), (14, parcels[1])):
            problem = await sim.post(
                f"/_sim/orders/{created['cj_order_id']}/tracking-problem",
                json={"tracking_status": tracking_status, "parcel": parcel},
            )
            assert [w["status_code"] for w in problem.json()["webhooks"]] == [200]

        async def problems() -> list[Any]:
            history = (await client.get(f"/v1/fulfillments/{created['id']}/events")).json()
            return [
                e["detail"]["problem"]
                for e in history["events"]
                if "problem" in (e["detail"] or {})
            ]

        deadline = time.monotonic() + 60
        while len(await problems()) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert await problems() == ["exception", "returned"]
        shown = (await client.get(f"/v1/fulfillments/{created['id']}")).json()
        assert shown["status"] == "shipped"  # CJ's order status did not change
        assert [t["problem"] for t in shown["tracking"]] == ["returned"]
    async with async_sessionmaker(clean_db)() as session:
        mapped = await session.scalars(
            select(FulfillmentParcel.cj_order_id).where(
                FulfillmentParcel.fulfillment_id == created["id"]
            )
        )
        assert sorted(mapped) == sorted(parcels)


async def test_the_path_token_rotates_without_losing_a_delivery(
    sim: httpx.AsyncClient, service_env: dict[str, str], tmp_path: Path
) -> None:
    """README's rotation: restart with the new token and the old one as previous (CJ
    still calls the old one), register the new one, then drop the old one."""
    old, new = "e2e-old-path-token", "e2e-new-path-token"
    env = {
        **service_env,
        "SERVICE_API_KEYS": API_KEY,
        "CJ_QPS": str(SIM_QPS),
        "CJ_WEBHOOK_VERIFY": "enforce",
        "RUN_WORKER_IN_PROCESS": "true",
        "WEBHOOK_APPLY_POLL_SECONDS": "0.05",
    }
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    headers = {"Authorization": f"Bearer {API_KEY}"}
    service = ServiceProcess({**env, "CJ_WEBHOOK_PATH_TOKEN": old}, tmp_path / "old.log")
    port = service.port
    base = service.base_url
    try:
        service.wait_until_up()
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as client:
            created = await create(client)
            await register_callbacks(service_env, f"{base}/webhooks/cj/{old}")
            moved = await advance(sim, created["cj_order_id"], "UNSHIPPED")
            assert [w["status_code"] for w in moved["webhooks"]] == [200]
            await status_becomes(client, created["id"], "unshipped")
        service.stop()

        rotating = {**env, "CJ_WEBHOOK_PATH_TOKEN": new, "CJ_WEBHOOK_PATH_TOKENS_PREVIOUS": old}
        service = ServiceProcess(rotating, tmp_path / "rotating.log", port=port)
        service.wait_until_up()
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as client:
            moved = await advance(sim, created["cj_order_id"], "SHIPPED")  # CJ: the old URL
            assert {w["url"] for w in moved["webhooks"]} == {f"{base}/webhooks/cj/{old}"}
            assert [w["status_code"] for w in moved["webhooks"]] == [200, 200]
            await status_becomes(client, created["id"], "shipped")
            await register_callbacks(service_env, f"{base}/webhooks/cj/{new}")
            moved = await advance(sim, created["cj_order_id"], "DELIVERED")
            assert {w["url"] for w in moved["webhooks"]} == {f"{base}/webhooks/cj/{new}"}
            assert [w["status_code"] for w in moved["webhooks"]] == [200, 200]
            await status_becomes(client, created["id"], "delivered")
            history = (await client.get(f"/v1/fulfillments/{created['id']}/events")).json()
        service.stop()
        assert [(e["source"], e["to"]) for e in history["events"][-3:]] == [
            ("webhook", "unshipped"),
            ("webhook", "shipped"),
            ("webhook", "delivered"),
        ]

        service = ServiceProcess(
            {**env, "CJ_WEBHOOK_PATH_TOKEN": new}, tmp_path / "new.log", port=port
        )
        service.wait_until_up()
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            late = await client.post(
                f"/webhooks/cj/{old}", json={"messageId": "m", "type": "ORDER"}
            )
            assert late.status_code == 404  # the previous token, once dropped, is refused
    finally:
        service.stop()


NOTIFY_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
MEDUSA_KEY = "sk_e2e_0123456789abcdef"


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[Receiver, Receiver]]:
    """The store's webhook receiver and a fake Medusa Admin API."""
    async with running_receiver() as store, running_receiver() as medusa:
        yield store, medusa


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


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
