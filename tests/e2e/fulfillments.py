"""Helpers for the fulfillment end-to-end tests: the app in this process against a real
cjsim server process, request bodies, and waiting for the database to settle."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.container import Container
from app.core.config import Settings
from app.db.models import Fulfillment
from app.main import create_app
from cjsim import catalog
from tests.e2e.support import ROOT, TOKEN_ENCRYPTION_KEY
from tests.fixtures.app import API_KEY, make_settings, start

SIM_QPS = 50
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def vid(sku: str) -> str:
    variant = catalog.variant_by_sku(sku)
    assert variant is not None, sku
    return variant.vid


def container_of(app: FastAPI) -> Container:
    """The container `create_app` built (the services the tests drive directly)."""
    container: Container = app.state.container
    return container


def fulfillment_settings(service_env: dict[str, str], **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": service_env["DATABASE_URL"],
        "redis_url": service_env["REDIS_URL"],
        "token_encryption_key": TOKEN_ENCRYPTION_KEY,
        "cj_api_base_url": service_env["CJ_API_BASE_URL"],
        "cj_api_key": service_env["CJ_API_KEY"],
        "cj_qps": SIM_QPS,
        "cj_timeout_seconds": 2,
        "submit_budget_ms": 6000,
        "submit_retry_initial_seconds": 0.2,
        "submit_retry_max_seconds": 1.0,
        "worker_poll_seconds": 0.1,
    }
    values.update(overrides)
    return make_settings(**values)


async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in start(app):
        client.headers.update(AUTH)
        yield client


def app_for(settings: Settings) -> FastAPI:
    return create_app(settings)


async def client_on_sim(
    sim: httpx.AsyncClient, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with `settings`, against the simulator at the fulfillment tests' QPS."""
    await sim.post("/_sim/config", json={"qps": SIM_QPS})
    async for client in running(app_for(settings)):
        yield client


def body(
    *,
    external_id: str | None = None,
    option_id: str = "us-standard",
    country: str = "US",
    items: list[dict[str, Any]] | None = None,
    **address: Any,
) -> dict[str, Any]:
    external = external_id or f"ful_medusa_{uuid.uuid4().hex[:10]}"
    shipping = {
        "name": "Ada Lovelace",
        "phone": "+1 212 555 0100",
        "email": "ada@example.com",
        "address1": "1 Main St",
        "city": "New York",
        "province": "NY",
        "country_code": country,
        "zip": "10001",
        **address,
    }
    return {
        "external_id": external,
        "order_id": f"order_{external}",
        "option_id": option_id,
        "shipping_address": shipping,
        "items": items
        or [{"line_item_id": f"li_{external}", "vid": vid("CJ-TSHIRT-RED-M"), "quantity": 2}],
    }


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"key-{uuid.uuid4().hex}"}


async def wait_until(
    engine: AsyncEngine, ids: list[str], done: set[str], timeout: float = 60
) -> dict[str, Fulfillment]:
    """Poll the database until every fulfillment in `ids` has a status in `done`."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    deadline = time.monotonic() + timeout
    while True:
        async with sessions() as session:
            rows = (
                (await session.execute(select(Fulfillment).where(Fulfillment.id.in_(ids))))
                .scalars()
                .all()
            )
        by_id = {row.id: row for row in rows}
        if len(by_id) == len(ids) and all(row.status in done for row in by_id.values()):
            return by_id
        if time.monotonic() > deadline:
            waiting = {i: r.status for i, r in by_id.items() if r.status not in done}
            raise AssertionError(f"not settled in {timeout}s: {waiting}")
        await asyncio.sleep(0.1)


async def sim_stats(sim: httpx.AsyncClient) -> dict[str, Any]:
    stats: dict[str, Any] = (await sim.get("/_sim/stats")).json()
    return stats


async def wait_for_calls(
    sim: httpx.AsyncClient, operation: str, count: int, timeout: float = 20
) -> None:
    """Until cjsim has counted `count` calls of `operation` (the service's own pace, however
    loaded the host), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (await sim_stats(sim))["calls"].get(operation, 0) < count:
        assert time.monotonic() < deadline, f"cjsim saw fewer than {count} {operation} calls"
        await asyncio.sleep(0.05)


class WorkerProcess:
    """`python -m app.workers` with the service's settings as environment variables; its
    JSON log goes to a file that tests can read."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.workers"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == name:
                found.append(record)
        return found

    async def wait_for_event(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.events(name):
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name} in {timeout}s")
            await asyncio.sleep(0.05)

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        elif not self._log.closed:
            self._log.close()


def worker_env(service_env: dict[str, str], **overrides: str) -> dict[str, str]:
    return {
        **service_env,
        "LOG_LEVEL": "INFO",
        "CJ_QPS": str(SIM_QPS),
        "CJ_TIMEOUT_SECONDS": "2",
        "SUBMIT_RETRY_INITIAL_SECONDS": "0.2",
        "SUBMIT_RETRY_MAX_SECONDS": "1",
        "WORKER_POLL_SECONDS": "0.1",
        "WORKER_METRICS_PORT": "0",
        **overrides,
    }
