"""Worker processes (`python -m app.workers`) over the same pending rows, against a real
cjsim server and the real Postgres and Redis: each fulfillment is placed once, and a
worker killed with SIGKILL in the middle of its submissions loses and duplicates nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.fulfillments import (
    WorkerProcess,
    body,
    key,
    sim_stats,
    wait_until,
    worker_env,
)

AT_CJ = {"created"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The web app, without an in-process worker: rows it cannot place stay pending, and
    are due again 6 s later (so every worker process is up and polling by then)."""
    return {"submit_retry_initial_seconds": 6, "submit_retry_max_seconds": 6}


@pytest.fixture
def processes() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        process.stop()


async def pending_rows(client: httpx.AsyncClient, sim: httpx.AsyncClient, count: int) -> list[str]:
    """`count` fulfillments left pending: CJ answers the API's attempt with 1600200 (QPS),
    so nothing reached CJ."""
    await sim.post(
        "/_sim/faults",
        json={"endpoint": "createOrderV2", "kind": "code", "code": 1600200, "count": count},
    )
    ids = []
    for _ in range(count):
        response = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


async def test_two_workers_place_each_fulfillment_once(
    client: httpx.AsyncClient,
    sim: httpx.AsyncClient,
    service_env: dict[str, str],
    clean_db: AsyncEngine,
    processes: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    # Two submissions in flight per worker and a CJ that takes 1 s to answer: one worker
    # alone would need 8 s for the 16 rows, so the other (polling every 0.1 s) takes part
    # however the host schedules them.
    env = worker_env(service_env, WORKER_CONCURRENCY="2", CJ_TIMEOUT_SECONDS="5")
    processes += [WorkerProcess(env, tmp_path / f"worker-{n}.log") for n in range(2)]
    for process in processes:
        await process.wait_for_event("submission_worker_started")

    ids = await pending_rows(client, sim, 16)
    await sim.post("/_sim/config", json={"latency_ms": 1000})
    rows = await wait_until(clean_db, ids, AT_CJ, timeout=120)

    stats = await sim_stats(sim)
    assert stats["orders_by_number"] == dict.fromkeys(ids, 1)
    # 16 refused by the fault (the API's attempts), then exactly one create per row.
    assert stats["calls"]["createOrderV2"] == 32
    assert {row.cj_order_id for row in rows.values()} == {
        o["orderId"] for o in (await sim.get("/_sim/orders")).json()["orders"]
    }
    placed = [
        {e["fulfillment_id"] for e in p.events("fulfillment_placed_at_cj")} for p in processes
    ]
    assert placed[0].isdisjoint(placed[1])
    assert placed[0] | placed[1] == set(ids)
    assert all(placed), "both workers took part"
    assert [process.terminate() for process in processes] == [0, 0]
    for process in processes:
        assert process.events("submission_worker_stopped")


async def test_sigkill_mid_submission_loses_and_duplicates_nothing(
    client: httpx.AsyncClient,
    sim: httpx.AsyncClient,
    service_env: dict[str, str],
    clean_db: AsyncEngine,
    processes: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    ids = await pending_rows(client, sim, 10)
    assert (await sim_stats(sim))["orders_by_number"] == {}
    # CJ stores each order it is sent, then holds the answer: the worker is mid-submission.
    await sim.post("/_sim/config", json={"hang_ms": 10_000})
    await sim.post(
        "/_sim/faults",
        json={"endpoint": "createOrderV2", "kind": "timeout_after_commit", "count": 10},
    )
    env = worker_env(service_env)
    first = WorkerProcess(env, tmp_path / "first.log")
    processes.append(first)
    # Killed once CJ has stored an order (a call counted may not have reached the handler).
    while not (await sim_stats(sim))["orders_by_number"]:
        assert first.proc.poll() is None
        await asyncio.sleep(0.02)
    first.kill()
    await sim.delete("/_sim/faults")
    stored_at_crash = len((await sim_stats(sim))["orders_by_number"])
    assert stored_at_crash >= 1

    processes += [WorkerProcess(env, tmp_path / f"after-{n}.log") for n in range(2)]
    rows = await wait_until(clean_db, ids, AT_CJ, timeout=120)

    assert (await sim_stats(sim))["orders_by_number"] == dict.fromkeys(ids, 1)
    cj_ids = {
        o["orderNumber"]: o["orderId"] for o in (await sim.get("/_sim/orders")).json()["orders"]
    }
    assert {i: row.cj_order_id for i, row in rows.items()} == cj_ids
    adopted = [
        e for p in processes[1:] for e in p.events("fulfillment_placed_at_cj") if e["adopted"]
    ]
    assert len(adopted) == stored_at_crash
