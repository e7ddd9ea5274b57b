"""Exactly one CJ order per fulfillment whatever CJ does: answers lost after the order was
stored, connections reset, HTTP 500s, CJ down or slow. The worker runs in the web process
(RUN_WORKER_IN_PROCESS=true, as `make run` does), against a real cjsim server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.core.config import PayType
from tests.e2e.fulfillments import (
    SIM_QPS,
    app_for,
    body,
    client_on_sim,
    fulfillment_settings,
    key,
    running,
    sim_stats,
    wait_for_calls,
    wait_until,
)
from tests.fixtures.notifications import outbox_rows

AT_CJ = {"created", "in_cart", "unpaid", "unshipped"}


async def fault(sim: httpx.AsyncClient, endpoint: str, kind: str, **extra: Any) -> None:
    response = await sim.post("/_sim/faults", json={"endpoint": endpoint, "kind": kind, **extra})
    assert response.status_code == 200, response.text


@pytest.fixture
async def client(
    sim: httpx.AsyncClient, service_env: dict[str, str], settings_overrides: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    settings = fulfillment_settings(service_env, run_worker_in_process=True, **settings_overrides)
    async for c in client_on_sim(sim, settings):
        yield c


async def events(client: httpx.AsyncClient, fulfillment_id: str) -> list[tuple[str, Any, str]]:
    found = (await client.get(f"/v1/fulfillments/{fulfillment_id}/events")).json()["events"]
    return [(e["source"], e["from"], e["to"]) for e in found]


class TestAmbiguousCreate:
    async def test_answer_lost_after_commit_is_adopted(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        # CJ stores the order, then holds the answer past our 2 s timeout.
        await sim.post("/_sim/config", json={"hang_ms": 4000})
        await fault(sim, "createOrderV2", "timeout_after_commit")

        response = await client.post("/v1/fulfillments", json=body(), headers=key())

        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "created"
        stats = await sim_stats(sim)
        assert stats["orders_by_number"] == {created["id"]: 1}
        assert stats["calls"]["createOrderV2"] == 1
        assert stats["calls"]["getOrderDetail"] == 1
        history = (await client.get(f"/v1/fulfillments/{created['id']}/events")).json()
        assert history["events"][-1]["detail"]["adopted"] is True

    @pytest.mark.parametrize("kind", ["reset", "http_500"])
    async def test_failure_before_commit_is_retried_by_the_worker(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine, kind: str
    ):
        await fault(sim, "createOrderV2", kind)

        response = await client.post("/v1/fulfillments", json=body(), headers=key())

        assert response.status_code == 202, response.text
        queued = response.json()
        assert queued["status"] == "pending"
        assert queued["cj_order_id"] is None
        rows = await wait_until(clean_db, [queued["id"]], AT_CJ)
        assert rows[queued["id"]].cj_order_id is not None
        stats = await sim_stats(sim)
        assert stats["orders_by_number"] == {queued["id"]: 1}
        # The worker asked CJ first (the API's attempt may have reached it), learnt from
        # CJ's 1600300 "order not found" (seed 004 §1.7) that it has none, then created.
        assert stats["calls"]["getOrderDetail"] == 2
        assert stats["calls"]["createOrderV2"] == 2
        assert await events(client, queued["id"]) == [
            ("api", None, "pending"),
            ("worker", "pending", "created"),
        ]

    async def test_order_exists_is_adopted(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        # The answer is lost and the lookup wrongly says "not found": the worker's create
        # then meets 1603003 (CJ has it) and adopts the order.
        await sim.post("/_sim/config", json={"hang_ms": 4000})
        await fault(sim, "createOrderV2", "timeout_after_commit")
        await fault(sim, "getOrderDetail", "code", code=1603100, count=2)

        response = await client.post("/v1/fulfillments", json=body(), headers=key())

        assert response.status_code == 202, response.text
        fulfillment_id = response.json()["id"]
        rows = await wait_until(clean_db, [fulfillment_id], AT_CJ)
        stats = await sim_stats(sim)
        assert stats["orders_by_number"] == {fulfillment_id: 1}
        assert stats["calls"]["createOrderV2"] == 2
        assert (
            rows[fulfillment_id].cj_order_id
            == (await sim.get("/_sim/orders")).json()["orders"][0]["orderId"]
        )


class TestCJUnavailable:
    async def test_down_then_back(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        # One order while CJ is up (the service buys its CJ token), then an outage.
        warm_up = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert warm_up.status_code == 201
        await sim.post("/_sim/config", json={"mode": "down"})
        answers = [
            await client.post("/v1/fulfillments", json=body(), headers=key()) for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
        ids = [a.json()["id"] for a in answers]
        assert all(a.json()["status"] == "pending" for a in answers)
        assert (await sim_stats(sim))["orders_by_number"] == {warm_up.json()["id"]: 1}

        await sim.post("/_sim/config", json={"mode": "up"})
        rows = await wait_until(clean_db, ids, AT_CJ, timeout=90)

        assert {row.status for row in rows.values()} == {"created"}
        orders = (await sim_stats(sim))["orders_by_number"]
        assert orders == dict.fromkeys([warm_up.json()["id"], *ids], 1)
        for fulfillment_id in ids:
            got = (await client.get(f"/v1/fulfillments/{fulfillment_id}")).json()
            assert got["status"] == "created"
            assert got["cj_order_id"] == rows[fulfillment_id].cj_order_id

    async def test_slow_cj_answers_202_within_the_budget(
        self,
        sim: httpx.AsyncClient,
        service_env: dict[str, str],
        clean_db: AsyncEngine,
    ):
        await sim.post("/_sim/config", json={"qps": SIM_QPS, "mode": "slow"})
        settings = fulfillment_settings(
            service_env, run_worker_in_process=True, submit_budget_ms=1000, cj_timeout_seconds=6
        )
        async for client in running(app_for(settings)):
            response = await client.post("/v1/fulfillments", json=body(), headers=key())
            assert response.status_code == 202, response.text
            fulfillment_id = response.json()["id"]
            rows = await wait_until(clean_db, [fulfillment_id], AT_CJ, timeout=90)
            assert rows[fulfillment_id].status == "created"
        assert (await sim_stats(sim))["orders_by_number"] == {fulfillment_id: 1}

    async def test_rate_limited_create_is_queued(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        await fault(sim, "createOrderV2", "code", code=1600200)
        response = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert response.status_code == 202
        fulfillment_id = response.json()["id"]
        await wait_until(clean_db, [fulfillment_id], AT_CJ)
        assert (await sim_stats(sim))["orders_by_number"] == {fulfillment_id: 1}


class TestPayFromBalance:
    @pytest.fixture
    async def settings_overrides(self) -> dict[str, Any]:
        return {
            "cj_pay_type": PayType.balance,
            "notify_url": "http://127.0.0.1:9/never-called",
            "notify_secret": "a-plain-shared-secret",
        }

    async def test_paid_through_its_parent_order_with_pay_balance_v2(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        response = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "unshipped"
        assert response.json()["status_reason"] is None
        cj_order = (await sim.get("/_sim/orders")).json()["orders"][0]
        assert cj_order["orderStatus"] == "UNSHIPPED"
        calls = (await sim_stats(sim))["calls"]
        for step in ("getBalance", "addCart", "addCartConfirm", "saveGenerateParentOrder"):
            assert calls[step] == 1, step
        assert calls["payBalanceV2"] == 1
        assert "payBalance" not in calls
        assert "confirmOrder" not in calls

    async def test_insufficient_balance_is_said_before_cj_says_it(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        await sim.post("/_sim/config", json={"balance": "1.00"})
        response = await client.post("/v1/fulfillments", json=body(), headers=key())

        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "created"
        assert created["status_reason"].startswith(
            "Insufficient CJ balance: 1.00 USD cannot pay this order's"
        )
        calls = (await sim_stats(sim))["calls"]
        assert calls["getBalance"] == 1
        for step in ("addCart", "addCartConfirm", "saveGenerateParentOrder", "payBalanceV2"):
            assert step not in calls, step
        events = (await client.get(f"/v1/fulfillments/{created['id']}/events")).json()
        assert events["events"][-1]["detail"]["payment"] == created["status_reason"]
        sessions = async_sessionmaker(clean_db, expire_on_commit=False)
        queued = [r.event_type for r in await outbox_rows(sessions)]
        assert queued == ["cj_order_created", "payment_failed"]
        # Still CREATED at CJ, so it can still be cancelled (deleted there).
        cancelled = await client.post(f"/v1/fulfillments/{created['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text

    async def test_a_payment_cj_restricts_is_said_once_and_not_retried(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, service_env: dict[str, str]
    ):
        # 1604001: "balance payment restricted; pay in MyCJ" (API_FACTS §4.1): final.
        await fault(sim, "payBalanceV2", "code", code=1604001)
        response = await client.post("/v1/fulfillments", json=body(), headers=key())

        assert response.status_code == 201, response.text
        placed = response.json()
        assert placed["status"] == "unpaid"
        assert placed["status_reason"].startswith("CJ restricts balance payment")
        assert "tries the payment again" not in placed["status_reason"]
        # A worker that would retry a payment at once does not retry this one.
        worker = fulfillment_settings(
            service_env,
            cj_pay_type=PayType.balance,
            run_worker_in_process=True,
            worker_poll_seconds=0.05,
            payment_retry_initial_seconds=0.05,
        )
        async for worker_client in running(app_for(worker)):
            await asyncio.sleep(1)
            got = (await worker_client.get(f"/v1/fulfillments/{placed['id']}")).json()
            assert got["status"] == "unpaid"
        assert (await sim_stats(sim))["calls"]["payBalanceV2"] == 1


class TestPaymentTriedAgain:
    """A balance payment that may work later (CJ unreachable, a balance too low) is tried
    again by the worker until it is made or PAYMENT_GIVE_UP_SECONDS have passed."""

    @pytest.fixture
    async def settings_overrides(self) -> dict[str, Any]:
        return {
            "cj_pay_type": PayType.balance,
            "worker_poll_seconds": 0.05,
            "payment_retry_initial_seconds": 0.2,
            "payment_retry_max_seconds": 0.4,
            "notify_url": "http://127.0.0.1:9/never-called",
            "notify_secret": "a-plain-shared-secret",
        }

    async def test_a_payment_cj_could_not_take_is_made_on_retry(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        await fault(sim, "payBalanceV2", "code", code=1600000)  # system busy, once
        response = await client.post("/v1/fulfillments", json=body(), headers=key())

        assert response.status_code == 201, response.text
        placed = response.json()
        assert placed["status"] == "unpaid"
        assert placed["status_reason"].startswith("Placed at CJ but not paid from the balance yet")
        assert placed["payment_retry_at"] is not None  # the API says when it is tried again
        assert placed["status_reason"].endswith(
            "tries the payment again (until PAYMENT_GIVE_UP_SECONDS)."
        )

        rows = await wait_until(clean_db, [placed["id"]], {"unshipped"})
        assert rows[placed["id"]].status_reason is None
        assert rows[placed["id"]].payment_retry_at is None
        stats = await sim_stats(sim)
        assert stats["orders_by_number"] == {placed["id"]: 1}
        assert stats["calls"]["payBalanceV2"] == 2
        assert (await sim.get("/_sim/orders")).json()["orders"][0]["orderStatus"] == "UNSHIPPED"
        last = (await client.get(f"/v1/fulfillments/{placed['id']}/events")).json()["events"][-1]
        assert (last["source"], last["from"], last["to"]) == (
            "payment_retry",
            "unpaid",
            "unshipped",
        )
        sessions = async_sessionmaker(clean_db, expire_on_commit=False)
        assert "payment_failed" not in [r.event_type for r in await outbox_rows(sessions)]

    async def test_an_order_cj_gave_no_id_is_paid_once_cj_names_it(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        [poster] = (await sim.get("/_sim/catalog")).json()["non_cj_variants"]
        items = [{"line_item_id": "li_1", "vid": poster["vid"], "quantity": 1}]
        response = await client.post("/v1/fulfillments", json=body(items=items), headers=key())
        assert response.status_code == 201, response.text
        placed = response.json()
        assert (placed["status"], placed["cj_order_id"]) == ("created", None)
        assert "paid from the balance once CJ names its order id" in placed["status_reason"]

        rows = await wait_until(clean_db, [placed["id"]], {"unshipped"})
        [cj_order] = (await sim.get("/_sim/orders")).json()["orders"]
        assert rows[placed["id"]].cj_order_id == cj_order["orderId"]  # found by orderNumber
        assert cj_order["orderStatus"] == "UNSHIPPED"
        assert (await sim_stats(sim))["calls"]["payBalanceV2"] == 1

    async def test_a_balance_topped_up_pays_the_order_on_retry(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        await sim.post("/_sim/config", json={"balance": "1.00"})
        response = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert response.status_code == 201, response.text
        placed = response.json()
        assert placed["status"] == "created"
        await wait_for_calls(sim, "getBalance", 2)  # tried again meanwhile: still too little
        assert "addCart" not in (await sim_stats(sim))["calls"]

        await sim.post("/_sim/config", json={"balance": "1000.00"})

        rows = await wait_until(clean_db, [placed["id"]], {"unshipped"})
        assert rows[placed["id"]].status_reason is None
        calls = (await sim_stats(sim))["calls"]
        assert calls["getBalance"] >= 3
        assert calls["payBalanceV2"] == 1
        assert (await sim_stats(sim))["orders_by_number"] == {placed["id"]: 1}

    async def test_a_payment_never_made_is_given_up_and_the_store_told(
        self,
        sim: httpx.AsyncClient,
        service_env: dict[str, str],
        clean_db: AsyncEngine,
        settings_overrides: dict[str, Any],
    ):
        await sim.post("/_sim/config", json={"balance": "1.00"})
        settings = fulfillment_settings(
            service_env,
            run_worker_in_process=True,
            **{**settings_overrides, "payment_give_up_seconds": 1.0},
        )
        async for client in client_on_sim(sim, settings):
            response = await client.post("/v1/fulfillments", json=body(), headers=key())
            assert response.status_code == 201, response.text
            placed = response.json()
            sessions = async_sessionmaker(clean_db, expire_on_commit=False)
            deadline = time.monotonic() + 60
            while True:
                row = (await wait_until(clean_db, [placed["id"]], {"created"}))[placed["id"]]
                if row.payment_retry_at is None:
                    break
                assert time.monotonic() < deadline, "the payment was never given up"
                await asyncio.sleep(0.1)
            assert row.status_reason is not None
            assert row.status_reason.startswith("Insufficient CJ balance: 1.00 USD")
            assert "gave up paying it" in row.status_reason
            calls = (await sim_stats(sim))["calls"]["getBalance"]
            await asyncio.sleep(0.6)
            assert (await sim_stats(sim))["calls"]["getBalance"] == calls  # the loop ended
            queued = [r.event_type for r in await outbox_rows(sessions)]
            assert queued.count("payment_failed") == 2  # the first failure, then the end
            last = (await client.get(f"/v1/fulfillments/{placed['id']}/events")).json()
            end = last["events"][-1]
            assert (end["source"], end["from"], end["to"]) == (
                "payment_retry",
                "created",
                "created",
            )


class TestSandbox:
    @pytest.fixture
    async def settings_overrides(self) -> dict[str, Any]:
        return {"cj_sandbox": True}

    async def test_orders_are_sandbox_orders(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        response = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert response.status_code == 201
        cj_order = (await sim.get("/_sim/orders")).json()["orders"][0]
        assert cj_order["isSandbox"] in (1, True)


async def unpaid_order_at_cj(sim: httpx.AsyncClient, service_env: dict[str, str]) -> str:
    """A pending fulfillment whose order CJ has, unpaid: placed by a create-only
    deployment whose answer was lost (and whose lookup missed it)."""
    await sim.post("/_sim/config", json={"qps": SIM_QPS, "hang_ms": 4000})
    await fault(sim, "createOrderV2", "timeout_after_commit")
    await fault(sim, "getOrderDetail", "code", code=1603100)
    async for client in running(app_for(fulfillment_settings(service_env))):
        response = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert response.status_code == 202, response.text
    fulfillment_id = response.json()["id"]
    orders = (await sim.get("/_sim/orders")).json()["orders"]
    assert [o["orderStatus"] for o in orders] == ["CREATED"]
    return str(fulfillment_id)


async def test_an_order_found_unpaid_in_balance_mode_is_paid_through_its_parent_order(
    sim: httpx.AsyncClient, service_env: dict[str, str], clean_db: AsyncEngine
) -> None:
    """A balance-mode worker adopts it, pays it (cart, confirm, parent order,
    payBalanceV2), and creates nothing."""
    fulfillment_id = await unpaid_order_at_cj(sim, service_env)
    balance = fulfillment_settings(
        service_env, cj_pay_type=PayType.balance, run_worker_in_process=True
    )
    async for _ in running(app_for(balance)):
        rows = await wait_until(clean_db, [fulfillment_id], {"unshipped"})
    assert rows[fulfillment_id].status_reason is None
    stats = await sim_stats(sim)
    assert stats["orders_by_number"] == {fulfillment_id: 1}
    assert stats["calls"]["addCartConfirm"] == 1
    assert stats["calls"]["payBalanceV2"] == 1
    assert (await sim.get("/_sim/orders")).json()["orders"][0]["orderStatus"] == "UNSHIPPED"


async def test_an_order_found_unpaid_with_too_little_balance_keeps_the_reason(
    sim: httpx.AsyncClient, service_env: dict[str, str], clean_db: AsyncEngine
) -> None:
    fulfillment_id = await unpaid_order_at_cj(sim, service_env)
    await sim.post("/_sim/config", json={"balance": "0"})
    balance = fulfillment_settings(
        service_env, cj_pay_type=PayType.balance, run_worker_in_process=True
    )
    async for _ in running(app_for(balance)):
        rows = await wait_until(clean_db, [fulfillment_id], {"created"})
    reason = rows[fulfillment_id].status_reason
    assert reason is not None
    assert reason.startswith("Insufficient CJ balance: 0.00 USD cannot pay")
    stats = await sim_stats(sim)
    assert stats["orders_by_number"] == {fulfillment_id: 1}
    assert "payBalanceV2" not in stats["calls"]
