"""Stock kept true, on a real cjsim and Postgres: a stock change at CJ reaches the stored
stock and the store's webhook; rates and fulfillments say `out-of-stock` per warehouse."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import SkuMapping, VariantStock
from app.main import create_app
from tests.e2e.fulfillments import SIM_QPS, body, container_of, fulfillment_settings, key, running
from tests.e2e.test_products import sim_product
from tests.fixtures.receiver import Receiver

RED_M = "CJ-TSHIRT-RED-M"


@pytest.fixture
async def app(sim: httpx.AsyncClient, service_env: dict[str, str], receiver: Receiver) -> FastAPI:
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    settings = fulfillment_settings(
        service_env,
        notify_url=f"{receiver.url}/store-hooks",
        notify_secret="a-shared-secret",
        sku_cache_seconds=0,
    )
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in running(app):
        yield c


@pytest.fixture
async def tshirt(client: httpx.AsyncClient, sim: httpx.AsyncClient) -> dict[str, Any]:
    product = await sim_product(sim, "CJ-TSHIRT")
    assert (await client.post("/v1/products", json={"product": product["url"]})).status_code == 201
    return product


def variant(product: dict[str, Any], sku: str) -> dict[str, Any]:
    found: dict[str, Any] = next(v for v in product["variants"] if v["sku"] == sku)
    return found


def rate_request(sku: str, country: str = "US", option_id: str | None = "us-standard") -> Any:
    request: dict[str, Any] = {
        "destination": {"country_code": country, "zip": "10001" if country == "US" else "M5V"},
        "items": [{"sku": sku, "quantity": 1}],
        "currency": "usd",
    }
    if option_id:
        request["option_id"] = option_id
    return request


async def stored_stock(engine: AsyncEngine, vid: str) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(VariantStock).where(VariantStock.vid == vid))
        return {row.country_code: row.quantity for row in rows}


class TestStockPoll:
    async def test_a_stock_change_at_cj_reaches_the_stock_and_the_stores_webhook(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        sim: httpx.AsyncClient,
        tshirt: dict[str, Any],
        receiver: Receiver,
        clean_db: AsyncEngine,
    ) -> None:
        red_m = variant(tshirt, RED_M)
        await sim.post(f"/_sim/variants/{red_m['vid']}/stock", json={"country_code": "US",
                                                                     "quantity": 0})  # fmt: skip
        container = container_of(app)
        calls_before = (await sim.get("/_sim/stats")).json()["calls"]["getInventoryByPid"]
        report = await container.stock_poller.poll()
        assert (report.products, report.variants, report.changed, report.stopped) == (1, 9, 1, None)
        calls = (await sim.get("/_sim/stats")).json()["calls"]["getInventoryByPid"]
        assert calls - calls_before == 1  # one request for the product's nine variants
        assert (await stored_stock(clean_db, red_m["vid"]))["US"] == 0

        await container.outbox_dispatcher.deliver_due()
        [hook] = [r for r in receiver.requests if r.path == "/store-hooks"]
        event = json.loads(hook.body)
        assert event["type"] == "variant.stock_changed"
        assert event["data"]["skus"] == [RED_M]
        assert event["data"]["stock"]["US"] == 0
        assert event["data"]["previous_stock"]["US"] == red_m["stock"]["US"]
        assert event["data"]["in_stock"] is True  # China still holds it
        assert hook.headers["webhook-id"] == event["id"]

        again = await container.stock_poller.poll()
        assert again.changed == 0  # nothing changed, nothing said

    async def test_an_out_of_stock_warehouse_is_an_out_of_stock_rate_and_fulfillment(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        sim: httpx.AsyncClient,
        tshirt: dict[str, Any],
    ) -> None:
        red_m = variant(tshirt, RED_M)
        assert (await client.post("/v1/rates", json=rate_request(RED_M))).status_code == 200
        await sim.post(f"/_sim/variants/{red_m['vid']}/stock", json={"country_code": "US",
                                                                     "quantity": 0})  # fmt: skip
        await container_of(app).stock_poller.poll()

        rate = await client.post("/v1/rates", json=rate_request(RED_M))
        assert rate.status_code == 422
        problem = rate.json()
        assert problem["type"].endswith("/out-of-stock")
        assert f"{RED_M}: 1 wanted, CJ's US warehouse holds 0" in problem["detail"]
        assert problem["out_of_stock"] == [
            {"sku": RED_M, "vid": red_m["vid"], "country_code": "US", "wanted": 1,
             "available": 0, "delisted": False},
        ]  # fmt: skip
        every = await client.post("/v1/rates", json=rate_request(RED_M, option_id=None))
        assert every.status_code == 422  # every US option ships from the US warehouse
        # Canada Standard ships from China, which still holds it.
        canada = await client.post("/v1/rates", json=rate_request(RED_M, "CA", "ca-standard"))
        assert canada.status_code == 200, canada.text

        items = [{"line_item_id": "li_1", "sku": RED_M, "quantity": 1}]
        refused = await client.post("/v1/fulfillments", json=body(items=items), headers=key())
        assert refused.status_code == 422
        assert refused.json()["type"].endswith("/out-of-stock")
        assert (await sim.get("/_sim/stats")).json()["orders"] == 0

    async def test_a_delisted_variant_is_flagged_said_and_refused(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        sim: httpx.AsyncClient,
        tshirt: dict[str, Any],
        receiver: Receiver,
        clean_db: AsyncEngine,
    ) -> None:
        red_m = variant(tshirt, RED_M)
        await sim.post(f"/_sim/listing/{red_m['vid']}", json={"listed": False})
        container = container_of(app)
        report = await container.stock_poller.poll()
        assert report.delisted == 1
        async with clean_db.connect() as conn:
            listed = (
                await conn.execute(select(SkuMapping.listed).where(SkuMapping.sku == RED_M))
            ).scalar()
        assert listed is False
        rate = await client.post("/v1/rates", json=rate_request(RED_M, "CA", "ca-standard"))
        assert rate.status_code == 422
        assert f"CJ has taken {RED_M} off the shelves" in rate.json()["detail"]

        await container.outbox_dispatcher.deliver_due()
        types = [json.loads(r.body)["type"] for r in receiver.requests]
        assert types == ["variant.delisted"]

        await sim.post(f"/_sim/listing/{red_m['vid']}", json={"listed": True})
        assert (await container.stock_poller.poll()).delisted == 0
        while (await container.outbox_dispatcher.deliver_due()).delivered:
            pass
        assert json.loads(receiver.requests[-1].body)["type"] == "variant.relisted"
        ok = await client.post("/v1/rates", json=rate_request(RED_M, "CA", "ca-standard"))
        assert ok.status_code == 200

    async def test_points_running_out_stop_the_pass_and_say_why(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        sim: httpx.AsyncClient,
        tshirt: dict[str, Any],
    ) -> None:
        await sim.post("/_sim/config", json={"points_per_day": 0})
        report = await container_of(app).stock_poller.poll()
        assert report.products == 0
        assert report.stopped is not None
        assert "points" in report.stopped
