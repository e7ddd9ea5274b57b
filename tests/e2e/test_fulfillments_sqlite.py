"""The first-run default, SQLite without Redis and the worker in the web process (what
`make run` starts), places and cancels fulfillments against a real cjsim server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from alembic import command

from tests.e2e.fulfillments import SIM_QPS, app_for, body, fulfillment_settings, key, running
from tests.fixtures.database import alembic_config


async def test_sqlite_first_run_places_queues_and_cancels(
    sim: httpx.AsyncClient, service_env: dict[str, str], tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'first-run.db'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    settings = fulfillment_settings(
        service_env, database_url=url, redis_url="", run_worker_in_process=True
    )
    async for client in running(app_for(settings)):
        created = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert created.status_code == 201, created.text

        await sim.post("/_sim/faults", json={"endpoint": "createOrderV2", "kind": "http_500"})
        queued = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert queued.status_code == 202, queued.text
        queued_id = queued.json()["id"]
        deadline = time.monotonic() + 30
        while (await client.get(f"/v1/fulfillments/{queued_id}")).json()["status"] == "pending":
            assert time.monotonic() < deadline, "the in-process worker did not place it"
            await asyncio.sleep(0.1)

        cancelled = await client.post(f"/v1/fulfillments/{created.json()['id']}/cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"

    stats = (await sim.get("/_sim/stats")).json()
    assert stats["orders_by_number"] == {created.json()["id"]: 1, queued_id: 1}
