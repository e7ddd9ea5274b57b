"""CJ's unkind answers, as seed 004 documents them and cjsim reproduces them, against a
real cjsim server with the worker in the web process: a refusal of the order's data
(1600100), no orderId (non-CJ SKUs), an intercepted order, and CJ never taking the order.
Each ends with a status and a reason in the API, an event, and a store notification;
nothing stays pending for ever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.db.models import OutboxMessage
from app.services.operations import OpsSnapshot, TokenReport
from app.services.ops_alerts import OpsAlerter, default_rules
from tests.e2e.fulfillments import (
    SIM_QPS,
    app_for,
    body,
    fulfillment_settings,
    key,
    running,
    sim_stats,
    wait_until,
)

NOTIFY = {"notify_url": "http://127.0.0.1:9/store-hooks", "notify_secret": "a-shared-secret"}


@pytest.fixture
async def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
async def client(
    sim: httpx.AsyncClient, service_env: dict[str, str], settings_overrides: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    settings = fulfillment_settings(
        service_env, run_worker_in_process=True, **NOTIFY, **settings_overrides
    )
    async for c in running(app_for(settings)):
        yield c


async def fault(sim: httpx.AsyncClient, endpoint: str, kind: str, **extra: Any) -> None:
    response = await sim.post("/_sim/faults", json={"endpoint": endpoint, "kind": kind, **extra})
    assert response.status_code == 200, response.text


async def notifications(engine: AsyncEngine, fulfillment_id: str) -> list[str]:
    async with async_sessionmaker(engine)() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.fulfillment_id == fulfillment_id)
            .order_by(OutboxMessage.id)
        )
        return [row.event_type for row in rows]


async def events(client: httpx.AsyncClient, fulfillment_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await client.get(f"/v1/fulfillments/{fulfillment_id}/events")
    ).json()["events"]
    return found


class TestParamError:
    async def test_1600100_at_once_is_a_422_failed_with_cjs_message(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        await fault(sim, "createOrderV2", "code", code=1600100)

        response = await client.post("/v1/fulfillments", json=body(), headers=key())

        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"].endswith("fulfillment-failed")
        assert "Param error" in problem["detail"]
        assert "1600100" in problem["detail"]
        failed = problem["fulfillment"]
        assert failed["status"] == "failed"
        assert "Param error" in failed["status_reason"]
        assert [e["to"] for e in await events(client, failed["id"])] == ["pending", "failed"]
        assert await notifications(clean_db, failed["id"]) == ["failed"]
        assert (await sim_stats(sim))["calls"]["createOrderV2"] == 1

    async def test_1600100_for_the_worker_ends_failed_never_pending(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        # The API's attempt is rate limited (queued); the worker's gets 1600100.
        await fault(sim, "createOrderV2", "code", code=1600200)
        await fault(sim, "createOrderV2", "code", code=1600100)
        response = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert response.status_code == 202, response.text
        fulfillment_id = response.json()["id"]

        rows = await wait_until(clean_db, [fulfillment_id], {"failed"})

        assert "Param error" in (rows[fulfillment_id].status_reason or "")
        got = (await client.get(f"/v1/fulfillments/{fulfillment_id}")).json()
        assert got["status"] == "failed"
        assert await notifications(clean_db, fulfillment_id) == ["failed"]
        assert (await sim_stats(sim))["orders_by_number"] == {}


class TestOverLongFields:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"name": "x" * 51}, "body.shipping_address.name"),
            ({"city": "x" * 51}, "body.shipping_address.city"),
            ({"province": "x" * 51}, "body.shipping_address.province"),
            ({"phone": "+1 212 555 0100 0000 0"}, "body.shipping_address.phone"),
            ({"email": "a" * 45 + "@b.com"}, "body.shipping_address.email"),
        ],
    )
    async def test_a_field_cj_would_refuse_is_a_422_naming_it_and_nothing_is_stored(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, change: dict[str, str], field: str
    ):
        request = body(**change)

        response = await client.post("/v1/fulfillments", json=request, headers=key())

        assert response.status_code == 422, response.text
        assert field in {e["field"] for e in response.json()["errors"]}
        listed = await client.get(
            "/v1/fulfillments", params={"external_id": request["external_id"]}
        )
        assert listed.json()["fulfillments"] == []
        assert (await sim_stats(sim))["calls"].get("createOrderV2", 0) == 0

    async def test_fields_at_cjs_limits_are_placed(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        request = body(name="x" * 50, city="y" * 50, province="z" * 50, phone="1" * 20)
        response = await client.post("/v1/fulfillments", json=request, headers=key())
        assert response.status_code == 201, response.text


class TestNoOrderId:
    async def test_a_non_cj_sku_is_placed_without_an_id_and_can_be_cancelled(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        [poster] = (await sim.get("/_sim/catalog")).json()["non_cj_variants"]
        items = [{"line_item_id": "li_1", "vid": poster["vid"], "quantity": 1}]

        response = await client.post("/v1/fulfillments", json=body(items=items), headers=key())

        assert response.status_code == 201, response.text
        placed = response.json()
        assert placed["status"] == "created"
        assert placed["cj_order_id"] is None
        assert "ORDER webhook" in placed["status_reason"]
        assert (await sim_stats(sim))["orders_by_number"] == {placed["id"]: 1}

        cancelled = await client.post(f"/v1/fulfillments/{placed['id']}/cancel")

        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        orders = (await sim.get("/_sim/orders")).json()["orders"]
        assert [o["orderStatus"] for o in orders] == ["CANCELLED"]


class TestIntercepted:
    async def test_an_intercepted_order_says_so_in_the_api_the_events_and_to_the_store(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        response = await client.post(
            "/v1/fulfillments", json=body(address1="PO Box 12"), headers=key()
        )

        assert response.status_code == 201, response.text
        placed = response.json()
        assert placed["status"] == "created"
        reason = placed["status_reason"]
        assert reason.startswith("CJ intercepted the order")
        assert "PO Box" in reason
        assert "code 1001" in reason
        [_, created] = await events(client, placed["id"])
        assert created["detail"]["intercepted"] == reason
        assert await notifications(clean_db, placed["id"]) == ["cj_order_created", "intercepted"]

        ops = OpsAlerter(async_sessionmaker(clean_db), ["ops-test"], default_rules(5))
        now = datetime.now(UTC)
        quiet = OpsSnapshot(
            taken_at=now,
            fulfillments={},
            oldest_pending_at=None,
            outbox=[],
            last_webhook_at=None,
            token=TokenReport("valid", now + timedelta(days=10), now + timedelta(days=100)),
            breaker="closed",
            points_exhausted_until=None,
            points=None,
            workers=[],
        )
        [alert] = await ops.evaluate(quiet, now=now)
        assert alert.incident == "orders_intercepted"
        assert reason in alert.text


class TestNeverTaken:
    @pytest.fixture
    async def settings_overrides(self) -> dict[str, Any]:
        return {"submit_give_up_seconds": 1.5}

    async def test_cj_down_past_the_give_up_time_fails_it_with_the_reason(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        await sim.post("/_sim/config", json={"mode": "down"})

        response = await client.post("/v1/fulfillments", json=body(), headers=key())

        assert response.status_code == 202, response.text
        fulfillment_id = response.json()["id"]
        rows = await wait_until(clean_db, [fulfillment_id], {"failed"})
        reason = rows[fulfillment_id].status_reason or ""
        assert reason.startswith("CJ could not take the order within")
        assert "SUBMIT_GIVE_UP_SECONDS" in reason
        assert await notifications(clean_db, fulfillment_id) == ["failed"]
        await sim.post("/_sim/config", json={"mode": "up"})
        assert (await sim_stats(sim))["orders_by_number"] == {}
