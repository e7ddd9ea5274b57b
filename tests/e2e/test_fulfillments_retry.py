"""`POST /v1/fulfillments/{id}/retry`: a queued fulfillment is sent to CJ now, once.

No worker runs here (RUN_WORKER_IN_PROCESS off), so only the retry can place the order."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.fulfillments import (
    body,
    key,
    sim_stats,
)


async def fault(sim: httpx.AsyncClient, endpoint: str, kind: str, **extra: Any) -> None:
    response = await sim.post("/_sim/faults", json={"endpoint": endpoint, "kind": kind, **extra})
    assert response.status_code == 200, response.text


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"run_worker_in_process": False}


async def queued(client: httpx.AsyncClient, sim: httpx.AsyncClient) -> dict[str, Any]:
    """A fulfillment CJ could not take (HTTP 500): 202, pending."""
    await fault(sim, "createOrderV2", "http_500")
    response = await client.post("/v1/fulfillments", json=body(), headers=key())
    assert response.status_code == 202, response.text
    return dict(response.json())


async def test_a_queued_fulfillment_is_placed_now_and_only_once(
    client: httpx.AsyncClient, sim: httpx.AsyncClient
) -> None:
    pending = await queued(client, sim)

    response = await client.post(f"/v1/fulfillments/{pending['id']}/retry")

    assert response.status_code == 201, response.text
    placed = response.json()
    assert (placed["id"], placed["status"]) == (pending["id"], "created")
    assert placed["cj_order_id"]
    assert (await sim_stats(sim))["orders_by_number"] == {pending["id"]: 1}
    history = (await client.get(f"/v1/fulfillments/{pending['id']}/events")).json()["events"]
    assert [(e["source"], e["to"]) for e in history] == [("api", "pending"), ("api", "created")]


async def test_while_cj_is_still_down_it_stays_queued(
    client: httpx.AsyncClient, sim: httpx.AsyncClient
) -> None:
    pending = await queued(client, sim)
    await fault(sim, "createOrderV2", "http_500")
    await fault(sim, "getOrderDetail", "http_500")

    response = await client.post(f"/v1/fulfillments/{pending['id']}/retry")

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    assert (await sim_stats(sim))["orders_by_number"] == {}


async def test_a_fulfillment_at_cj_is_a_conflict(
    client: httpx.AsyncClient, sim: httpx.AsyncClient
) -> None:
    created = await client.post("/v1/fulfillments", json=body(), headers=key())
    assert created.status_code == 201, created.text

    response = await client.post(f"/v1/fulfillments/{created.json()['id']}/retry")

    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("/conflict")
    assert "only a pending" in problem["detail"]


async def test_an_unknown_fulfillment_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/fulfillments/ful_nope/retry")
    assert response.status_code == 404
