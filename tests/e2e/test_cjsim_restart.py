"""A cjsim process with CJSIM_STATE, restarted (cleanly or killed) under the service: CJ's
orders and accounts are still there, and the service's stored token is still accepted, so
a cart priced after the restart gets CJ's price, not the static table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.fulfillments import SIM_QPS, app_for, body, fulfillment_settings, key, running, vid
from tests.e2e.support import SimServer


@pytest.fixture
def cjsim_server(tmp_path: Path) -> Iterator[SimServer]:
    """This module's own simulator, with its state in a file (the others keep it in memory)."""
    server = SimServer(tmp_path / "cjsim.log", state_file=tmp_path / "cjsim" / "state.json")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


@pytest.fixture
async def control(cjsim_server: SimServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cjsim_server.base_url, timeout=10) as client:
        await client.post("/_sim/config", json={"qps": SIM_QPS})
        yield client


@pytest.fixture
async def client(
    control: httpx.AsyncClient, service_env: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    async for c in running(app_for(fulfillment_settings(service_env))):
        yield c


def cart(sku: str, quantity: int) -> dict[str, Any]:
    return {
        "destination": {"country_code": "US", "zip": "10001"},
        "items": [{"vid": vid(sku), "quantity": quantity}],
        "currency": "usd",
        "option_id": "us-standard",
    }


async def _order_numbers(control: httpx.AsyncClient) -> list[str]:
    return [o["orderNumber"] for o in (await control.get("/_sim/orders")).json()["orders"]]


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
async def test_a_restarted_cjsim_keeps_orders_accounts_and_the_services_token(
    kill: bool,
    cjsim_server: SimServer,
    control: httpx.AsyncClient,
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/v1/rates", json=cart("CJ-TSHIRT-RED-M", 1))
    assert [r["source"] for r in first.json()["rates"]] == ["live"], first.text
    created = await client.post("/v1/fulfillments", json=body(), headers=key())
    assert created.status_code == 201, created.text
    fulfillment = created.json()

    cjsim_server.restart(kill=kill)

    stats = (await control.get("/_sim/stats")).json()
    assert stats["calls"] == {}  # a new process
    assert await _order_numbers(control) == [fulfillment["id"]]
    # Another cart (not in the rate cache): CJ is asked with the token bought before the
    # restart, and answers. No new getAccessToken (the 5-minute rule would stop it).
    await control.post("/_sim/config", json={"qps": SIM_QPS})
    after = await client.post("/v1/rates", json=cart("CJ-TSHIRT-RED-M", 3))
    assert [r["source"] for r in after.json()["rates"]] == ["live"], after.text
    calls = (await control.get("/_sim/stats")).json()["calls"]
    assert calls.get("freightCalculate") == 1
    assert "getAccessToken" not in calls
    assert "refreshAccessToken" not in calls
    ready = (await client.get("/health/ready")).json()
    assert ready["checks"]["cj_token"] == "valid"
    # CJ still knows the order: cancelling it deletes it at CJ.
    cancelled = await client.post(f"/v1/fulfillments/{fulfillment['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"


async def test_a_cj_that_forgot_the_account_is_reported_and_checkout_is_still_priced(
    control: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    """What a restart without CJSIM_STATE did: CJ refuses the stored token and its refresh
    token, and getAccessToken may not be called again for 5 minutes."""
    first = await client.post("/v1/rates", json=cart("CJ-TSHIRT-RED-M", 1))
    assert [r["source"] for r in first.json()["rates"]] == ["live"], first.text
    assert (await client.get("/health/ready")).json()["checks"]["cj_token"] == "valid"

    assert (await control.post("/_sim/reset")).json() == {"reset": True}
    await control.post("/_sim/config", json={"qps": SIM_QPS})

    other = await client.post("/v1/rates", json=cart("CJ-TSHIRT-RED-M", 2))
    assert other.status_code == 200, other.text
    assert [r["source"] for r in other.json()["rates"]] == ["static"]
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["cj_token"] == "waiting"
    assert ready.json()["checks"]["cj_token_retry_at"]
    calls = (await control.get("/_sim/stats")).json()["calls"]
    assert calls.get("refreshAccessToken") == 1  # tried before waiting
    assert "getAccessToken" not in calls  # the 5-minute rule is kept
    # While waiting, nothing more is sent on the refused token.
    again = await client.post("/v1/rates", json=cart("CJ-TSHIRT-RED-M", 3))
    assert [r["source"] for r in again.json()["rates"]] == ["static"]
    assert (await control.get("/_sim/stats")).json()["calls"] == calls
