"""CJSIM_STATE: a restarted simulator remembers what CJ would (accounts, tokens, orders,
disputes, balance), and a save never leaves a torn file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from cjsim import products
from cjsim.app import create_app
from cjsim.state import SimConfig, SimState
from cjsim.state_file import StateFile, StateFileError
from tests.cjsim.support import API, API_KEY, CJ, FakeClock, login

Started = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "cjsim" / "state.json"


@pytest.fixture
def start(state_path: Path, clock: FakeClock) -> Started:
    """Each call is a new simulator process: fresh memory, the same state file."""

    @asynccontextmanager
    async def started() -> AsyncIterator[httpx.AsyncClient]:
        state = SimState(defaults=SimConfig(qps=1000), clock=clock)
        app = create_app(state, state_file=StateFile(state_path))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cjsim") as client:
            yield client

    return started


async def _pay_and_dispute(cj: CJ) -> str:
    created = await cj.create_ok(orderNumber="ful_kept", payType=2)
    order_id: str = created["orderId"]
    body = await cj.post(
        "/disputes/create",
        {
            "orderId": order_id,
            "businessDisputeId": "ful_kept-cancel",
            "disputeReasonId": 1,
            "expectType": 1,
            "refundType": 1,
        },
    )
    assert body["code"] == 200, body
    return order_id


async def test_a_restart_keeps_accounts_tokens_orders_disputes_and_balance(
    start: Started, clock: FakeClock
) -> None:
    async with start() as client:
        await client.post("/_sim/config", json={"balance": "500.00"})
        cj = CJ(client, await login(client))
        order_id = await _pay_and_dispute(cj)
        before = (await cj.detail(order_id))["data"]
        balance_before = (await cj.get("/shopping/pay/getBalance"))["data"]["amount"]
        assert balance_before < 500

    clock.advance(60)
    async with start() as client:
        cj = CJ(client, {"accessToken": cj.token, "openId": cj.open_id})
        # The token CJ gave before the restart still works, for the same account.
        detail = await cj.detail(order_id)
        assert detail["code"] == 200, detail
        assert detail["data"] == before
        assert (await cj.get("/shopping/pay/getBalance"))["data"]["amount"] == balance_before
        disputes = await cj.get("/disputes/getDisputeList", {"orderId": order_id})
        assert [d["businessDisputeId"] for d in disputes["data"]["list"]] == ["ful_kept-cancel"]
        # The orderNumber is still taken, and new ids do not reuse old ones.
        again = await cj.create(orderNumber="ful_kept")
        assert again["code"] == 1603003
        other = await cj.create_ok(orderNumber="ful_next")
        assert other["orderId"] != order_id
        # CJ's 5-minute getAccessToken rule is remembered too.
        response = await client.post(
            f"{API}/authentication/getAccessToken", json={"apiKey": API_KEY}
        )
        assert response.json()["code"] == 1600200


async def test_the_refresh_token_survives_a_restart(start: Started) -> None:
    async with start() as client:
        tokens = await login(client)
    async with start() as client:
        response = await client.post(
            f"{API}/authentication/refreshAccessToken",
            json={"refreshToken": tokens["refreshToken"]},
        )
        body = response.json()
        assert body["code"] == 200, body
        fresh = CJ(client, {**body["data"], "openId": tokens["openId"]})
        balance = await fresh.get("/shopping/pay/getBalance")
        assert balance["code"] == 200, balance


async def test_reset_is_remembered_as_empty(start: Started) -> None:
    async with start() as client:
        cj = CJ(client, await login(client))
        await cj.create_ok(orderNumber="ful_gone")
        assert (await client.post("/_sim/reset")).json() == {"reset": True}
    async with start() as client:
        assert (await client.get("/_sim/orders")).json() == {"orders": []}


async def test_without_a_state_file_nothing_is_written(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=create_app(SimState(defaults=SimConfig())))
    async with httpx.AsyncClient(transport=transport, base_url="http://cjsim") as client:
        await login(client)
    assert list(tmp_path.iterdir()) == []


async def test_a_save_replaces_the_file_whole(state_path: Path, start: Started) -> None:
    async with start() as client:
        cj = CJ(client, await login(client))
        await cj.create_ok(orderNumber="ful_a")
        first = json.loads(state_path.read_text())
        await cj.create_ok(orderNumber="ful_b")
        second = json.loads(state_path.read_text())
    assert [o["order_number"] for o in first["orders"]] == ["ful_a"]
    assert [o["order_number"] for o in second["orders"]] == ["ful_a", "ful_b"]
    # Only the state file is left in the folder: the temporary file was renamed over it.
    assert [p.name for p in state_path.parent.iterdir()] == ["state.json"]


def test_an_unreadable_state_file_stops_the_simulator_with_its_name(state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_text('{"version": 1, "orders": [')  # what a torn write would look like
    with pytest.raises(StateFileError, match=r"state\.json is not a state this cjsim can read"):
        create_app(SimState(defaults=SimConfig()), state_file=StateFile(state_path))


def test_a_state_of_another_version_is_refused(state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_text('{"version": 99}')
    with pytest.raises(StateFileError, match="version 99"):
        create_app(SimState(defaults=SimConfig()), state_file=StateFile(state_path))


async def test_a_restart_keeps_stock_and_listing_changes(start: Started) -> None:
    tshirt = products.product_by_sku("CJ-TSHIRT")
    assert tshirt is not None
    vid = tshirt.variants[0].vid
    async with start() as client:
        await client.post(f"/_sim/variants/{vid}/stock", json={"country_code": "US", "quantity": 3})
        await client.post(f"/_sim/listing/{tshirt.variants[1].vid}", json={"listed": False})
    async with start() as client:
        listed = (await client.get("/_sim/catalog")).json()["products"]
        kept = next(p for p in listed if p["pid"] == tshirt.pid)
        assert kept["variants"][0]["stock"]["US"] == 3
        assert kept["variants"][1]["listed"] is False
