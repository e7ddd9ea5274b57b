"""Stock kept true in Medusa, on a real cjsim and Postgres: a stock change or a delisting at
CJ reaches the inventory level of the variant's Medusa inventory item at the store's stock
location (MEDUSA_STOCK_LOCATION_ID), through the service's own poller and dispatcher, and
the generic webhook hears the same change."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.container import Container
from app.main import create_app
from tests.e2e.fulfillments import SIM_QPS, container_of, fulfillment_settings, running
from tests.e2e.test_products import sim_product
from tests.fixtures.medusa_inventory import INVENTORY_KEY, LOCATION, FakeInventory
from tests.fixtures.receiver import Receiver

RED_M = "CJ-TSHIRT-RED-M"


@pytest.fixture
async def app(
    sim: httpx.AsyncClient,
    service_env: dict[str, str],
    fake_inventory: FakeInventory,
    receiver: Receiver,
) -> FastAPI:
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    settings = fulfillment_settings(
        service_env,
        medusa_url=fake_inventory.url,
        medusa_secret_key=INVENTORY_KEY,
        medusa_fulfillment_data=False,
        medusa_stock_location_id=LOCATION,
        notify_url=f"{receiver.url}/store-hooks",
        notify_secret="a-shared-secret",
        sku_cache_seconds=0,
    )
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in running(app):
        yield c


async def deliver_all(container: Container) -> None:
    """Catalogue messages are one queue per sink: one of each sink per pass."""
    for _ in range(10):
        if (await container.outbox_dispatcher.deliver_due()).claimed == 0:
            return


async def test_a_stock_change_and_a_delisting_at_cj_reach_medusas_inventory_level(
    app: FastAPI,
    client: httpx.AsyncClient,
    sim: httpx.AsyncClient,
    fake_inventory: FakeInventory,
    receiver: Receiver,
) -> None:
    product = await sim_product(sim, "CJ-TSHIRT")
    assert (await client.post("/v1/products", json={"product": product["url"]})).status_code == 201
    red_m: dict[str, Any] = next(v for v in product["variants"] if v["sku"] == RED_M)
    fake_inventory.add_item(RED_M, {LOCATION: 100})
    container = container_of(app)

    await sim.post(f"/_sim/variants/{red_m['vid']}/stock", json={"country_code": "US",
                                                                 "quantity": 3})  # fmt: skip
    report = await container.stock_poller.poll()
    assert report.changed == 1
    await deliver_all(container)

    expected = sum(red_m["stock"].values()) - red_m["stock"]["US"] + 3
    assert fake_inventory.level(RED_M) == expected
    [hook] = [r for r in receiver.requests if r.path == "/store-hooks"]
    assert json.loads(hook.body)["data"]["stock"]["US"] == 3

    await sim.post(f"/_sim/listing/{red_m['vid']}", json={"listed": False})
    assert (await container.stock_poller.poll()).delisted == 1
    await deliver_all(container)

    assert fake_inventory.level(RED_M) == 0
