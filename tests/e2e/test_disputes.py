"""Cancelling a paid order through a CJ refund dispute, against a real cjsim server that
answers disputes/create with a bare `true` (as CJ's docs do): the id is found with
getDisputeList, and the worker follows the dispute to CJ's decision (refunded → cancelled;
rejected → the store is told, the order ships)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.core.config import CancelAfterPayment, PayType
from tests.e2e.fulfillments import (
    SIM_QPS,
    app_for,
    body,
    fulfillment_settings,
    key,
    running,
    sim_stats,
)
from tests.fixtures.notifications import outbox_rows


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "cj_pay_type": PayType.balance,
        "cancel_after_payment": CancelAfterPayment.dispute,
        "run_worker_in_process": True,
        "dispute_poll_seconds": 0.2,
        "notify_url": "http://127.0.0.1:9/never-called",
        "notify_secret": "a-plain-shared-secret",
    }


async def paid_fulfillment(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/v1/fulfillments", json=body(), headers=key())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["status"] == "unshipped"
    return created


async def cj_dispute_id(sim: httpx.AsyncClient, order_number: str) -> str:
    orders = (await sim.get("/_sim/orders")).json()["orders"]
    dispute_id: str = next(o for o in orders if o["orderNumber"] == order_number)["disputeId"]
    assert dispute_id
    return dispute_id


async def until(
    client: httpx.AsyncClient, fulfillment_id: str, field: str, value: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        got: dict[str, Any] = (await client.get(f"/v1/fulfillments/{fulfillment_id}")).json()
        if got[field] == value or time.monotonic() > deadline:
            assert got[field] == value, got
            return got
        await asyncio.sleep(0.1)


async def events(client: httpx.AsyncClient, fulfillment_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await client.get(f"/v1/fulfillments/{fulfillment_id}/events")
    ).json()["events"]
    return found


async def test_a_true_only_answer_is_followed_by_list_and_a_refund_cancels(
    client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
) -> None:
    paid = await paid_fulfillment(client)

    response = await client.post(f"/v1/fulfillments/{paid['id']}/cancel")

    assert response.status_code == 202, response.text
    requested = response.json()
    dispute_id = await cj_dispute_id(sim, paid["id"])
    assert requested["dispute_id"] == dispute_id  # found in getDisputeList
    assert requested["dispute_status"] == "open"
    calls = (await sim_stats(sim))["calls"]
    assert calls["create"] == 1
    assert calls["getDisputeList"] >= 1

    await sim.post(f"/_sim/disputes/{dispute_id}/resolve", json={"finally_deal": 1})

    cancelled = await until(client, paid["id"], "status", "cancelled")
    assert cancelled["dispute_status"] == "refunded"
    assert dispute_id in cancelled["status_reason"]
    last = (await events(client, paid["id"]))[-1]
    assert (last["source"], last["from"], last["to"]) == ("cj_dispute", "unshipped", "cancelled")
    sessions = async_sessionmaker(clean_db, expire_on_commit=False)
    assert [r.event_type for r in await outbox_rows(sessions)][-1] == "cancelled"


async def test_an_id_not_listed_yet_is_found_later(
    client: httpx.AsyncClient, sim: httpx.AsyncClient
) -> None:
    paid = await paid_fulfillment(client)
    # CJ answers `true`, then its list cannot be read for a while.
    await sim.post(
        "/_sim/faults",
        json={"endpoint": "getDisputeList", "kind": "code", "code": 1600000, "count": 3},
    )

    response = await client.post(f"/v1/fulfillments/{paid['id']}/cancel")

    assert response.status_code == 202, response.text
    assert response.json()["dispute_id"] is None
    assert response.json()["dispute_status"] == "requested"
    again = await client.post(f"/v1/fulfillments/{paid['id']}/cancel")
    assert again.status_code == 202
    assert (await sim_stats(sim))["calls"]["create"] == 1  # never opened twice
    opened = await until(client, paid["id"], "dispute_status", "open")
    assert opened["dispute_id"] == await cj_dispute_id(sim, paid["id"])


async def test_a_rejected_dispute_tells_the_store_and_the_order_ships(
    client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
) -> None:
    paid = await paid_fulfillment(client)
    assert (await client.post(f"/v1/fulfillments/{paid['id']}/cancel")).status_code == 202
    dispute_id = await cj_dispute_id(sim, paid["id"])

    await sim.post(f"/_sim/disputes/{dispute_id}/resolve", json={"finally_deal": 3})

    rejected = await until(client, paid["id"], "dispute_status", "rejected")
    assert rejected["status"] == "unshipped"
    assert "rejected the refund dispute" in rejected["status_reason"]
    last = (await events(client, paid["id"]))[-1]
    assert (last["source"], last["from"], last["to"]) == ("cj_dispute", "unshipped", "unshipped")
    sessions = async_sessionmaker(clean_db, expire_on_commit=False)
    assert [r.event_type for r in await outbox_rows(sessions)].count("dispute_rejected") == 1
    # Cancelling again is a refusal that says why; CJ is not asked for another dispute.
    refused = await client.post(f"/v1/fulfillments/{paid['id']}/cancel")
    assert refused.status_code == 409
    assert "rejected the refund dispute" in refused.json()["detail"]
    assert (await sim_stats(sim))["calls"]["create"] == 1
    # The order ships as placed.
    await sim.post(f"/_sim/orders/{paid['cj_order_id']}/advance", json={"status": "SHIPPED"})
    shipped = await client.post(f"/v1/fulfillments/{paid['id']}/cancel")
    assert shipped.status_code == 409
    assert shipped.json()["status_now"] == "shipped"


async def test_a_dispute_cj_never_decides_is_given_up_and_the_store_told(
    sim: httpx.AsyncClient, service_env: dict[str, str], clean_db: AsyncEngine
) -> None:
    settings = fulfillment_settings(
        service_env,
        cj_pay_type=PayType.balance,
        cancel_after_payment=CancelAfterPayment.dispute,
        run_worker_in_process=True,
        dispute_poll_seconds=0.2,
        dispute_give_up_seconds=1.0,
        notify_url="http://127.0.0.1:9/never-called",
        notify_secret="a-plain-shared-secret",
    )
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    async for client in running(app_for(settings)):
        paid = await paid_fulfillment(client)
        assert (await client.post(f"/v1/fulfillments/{paid['id']}/cancel")).status_code == 202
        dispute_id = await cj_dispute_id(sim, paid["id"])

        unanswered = await until(client, paid["id"], "dispute_status", "unanswered")

        assert unanswered["status"] == "unshipped"
        assert unanswered["status_reason"].startswith(
            f"CJ has not decided the refund dispute {dispute_id} within"
        )
        last = (await events(client, paid["id"]))[-1]
        assert (last["source"], last["from"], last["to"]) == (
            "cj_dispute",
            "unshipped",
            "unshipped",
        )
        sessions = async_sessionmaker(clean_db, expire_on_commit=False)
        queued = [r.event_type for r in await outbox_rows(sessions)]
        assert queued.count("dispute_undecided") == 1
        asked = (await sim_stats(sim))["calls"]["getDisputeList"]
        await asyncio.sleep(0.6)
        assert (await sim_stats(sim))["calls"]["getDisputeList"] == asked  # no longer followed
        refused = await client.post(f"/v1/fulfillments/{paid['id']}/cancel")
        assert refused.status_code == 409
        assert "follow it in MyCJ" in refused.json()["detail"]
        assert (await sim_stats(sim))["calls"]["create"] == 1
