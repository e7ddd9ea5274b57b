"""CJ's STOCK, VARIANT and PRODUCT callbacks, end to end: cjsim signs and sends them to the
service (served over HTTP in this process), the intake stores them, the applier asks for
the products they name, and the stock loop reads those from CJ and tells the store."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.container import Container
from app.db.models import StockRefresh, WebhookInboxMessage
from app.main import create_app
from tests.e2e.fulfillments import AUTH, SIM_QPS, fulfillment_settings
from tests.e2e.test_products import sim_product
from tests.e2e.test_stock import stored_stock
from tests.fixtures.receiver import Receiver

TOKEN = "stock-callbacks-path-token"


@pytest.fixture
async def served(
    sim: httpx.AsyncClient, service_env: dict[str, str], receiver: Receiver
) -> AsyncIterator[tuple[FastAPI, str]]:
    """The app on a free port of 127.0.0.1 (cjsim calls it back), with its lifespan."""
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    app = create_app(
        fulfillment_settings(
            service_env,
            notify_url=f"{receiver.url}/store-hooks",
            notify_secret="a-shared-secret",
            cj_webhook_path_token=TOKEN,
            cj_webhook_verify="enforce",
            sku_cache_seconds=0,
        )
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def inbox(engine: AsyncEngine) -> list[WebhookInboxMessage]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(WebhookInboxMessage).order_by(WebhookInboxMessage.id))
        return list(rows.all())  # type: ignore[arg-type]


async def refreshes(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(StockRefresh.key))).scalars())


def hooks(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.requests if r.path == "/store-hooks"]


class TestCallbacks:
    async def test_stock_and_variant_callbacks_reach_the_stock_and_the_store(
        self,
        served: tuple[FastAPI, str],
        sim: httpx.AsyncClient,
        receiver: Receiver,
        clean_db: AsyncEngine,
    ) -> None:
        app, base = served
        container: Container = app.state.container
        tshirt = await sim_product(sim, "CJ-TSHIRT")
        red_m = next(v for v in tshirt["variants"] if v["sku"] == "CJ-TSHIRT-RED-M")
        async with httpx.AsyncClient(base_url=base, headers=AUTH) as client:
            added = await client.post("/v1/products", json={"product": tshirt["url"]})
            assert added.status_code == 201, added.text
        url = f"{base}/webhooks/cj/{TOKEN}"
        assert await container.cj.set_webhooks(order_url=url, logistics_url=url, catalogue_url=url)

        changed = await sim.post(
            f"/_sim/variants/{red_m['vid']}/stock", json={"country_code": "US", "quantity": 2}
        )
        [sent] = changed.json()["webhooks"]
        assert (sent["type"], sent["status_code"]) == ("STOCK", 200)
        [row] = await inbox(clean_db)
        assert (row.topic, row.message_type, row.status) == ("STOCK", "DECREASE", "received")
        assert (row.signature_valid, row.path_token_valid) == (True, True)

        await container.webhook_applier.apply_due()
        [row] = await inbox(clean_db)
        assert row.status == "applied"
        assert await refreshes(clean_db) == [tshirt["pid"]]

        calls = (await sim.get("/_sim/stats")).json()["calls"]["getInventoryByPid"]
        report = await container.stock_poller.refresh_requested()
        assert (report.products, report.changed, report.stopped) == (1, 1, None)
        assert (await sim.get("/_sim/stats")).json()["calls"]["getInventoryByPid"] == calls + 1
        assert (await stored_stock(clean_db, red_m["vid"]))["US"] == 2
        assert await refreshes(clean_db) == []

        delisted = await sim.post(f"/_sim/listing/{red_m['vid']}", json={"listed": False})
        assert [w["type"] for w in delisted.json()["webhooks"]] == ["VARIANT"]
        await container.webhook_applier.apply_due()
        assert (await container.stock_poller.refresh_requested()).delisted == 1

        while (await container.outbox_dispatcher.deliver_due()).delivered:
            pass  # one message of the catalogue's queue per round, in order
        events = [(e["type"], e["data"]["skus"]) for e in hooks(receiver)]
        assert events == [
            ("variant.stock_changed", ["CJ-TSHIRT-RED-M"]),
            ("variant.delisted", ["CJ-TSHIRT-RED-M"]),
        ]

    async def test_a_forged_stock_message_changes_nothing_by_itself(
        self,
        served: tuple[FastAPI, str],
        sim: httpx.AsyncClient,
        clean_db: AsyncEngine,
    ) -> None:
        """Unsigned, off the path token: refused while signatures are enforced; and even a
        stored one only makes the service ask CJ, whose answer is what counts."""
        app, base = served
        container: Container = app.state.container
        mug = await sim_product(sim, "CJ-MUG")
        [only] = mug["variants"]
        async with httpx.AsyncClient(base_url=base, headers=AUTH) as client:
            assert (
                await client.post("/v1/products", json={"product": mug["pid"]})
            ).status_code == 201
            forged = {"messageId": "forged-1", "type": "STOCK", "messageType": "DECREASE",
                      "params": {only["vid"]: [{"vid": only["vid"], "countryCode": "US",
                                                "storageNum": 0}]}}  # fmt: skip
            refused = await client.post(f"/webhooks/cj/{TOKEN}", json=forged)
            assert refused.status_code == 401
        assert await inbox(clean_db) == []
        await container.stock_poller.refresh_requested()
        assert await stored_stock(clean_db, only["vid"]) == only["stock"]
