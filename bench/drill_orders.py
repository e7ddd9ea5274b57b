"""Order drill: many fulfillments while CJ fails ambiguously and goes down, then count.

Starts, on this machine only: a cjsim server, the web service (uvicorn, real HTTP) and two
worker processes (`python -m app.workers`), on Postgres and Redis. It sends
DRILL_ORDERS (500) fulfillments from DRILL_CLIENTS concurrent clients, each retried with
its Idempotency-Key like a store would (on 409, 5xx or a timeout), and some repeated on
purpose to exercise replays. Meanwhile a chaos loop keeps at least DRILL_AMBIGUOUS_SHARE
(35 %) of CJ's createOrderV2 calls failing ambiguously (answer lost after the order was
stored, connection reset, HTTP 500), and takes CJ down for 2 s every 20 s, until the
workers have placed every queued fulfillment (or 100 s passed). Then CJ is healed,
the workers drain what is left, and the drill prints

    orders: <n> requested, <n> at cj, duplicates <n>, lost <n>, p99 accept <ms> ms

(`at cj`: requested fulfillments with a CJ order; `duplicates`: extra CJ orders for one
store fulfillment; `lost`: requested fulfillments without a CJ order; `accept`: time until
the store got 201 or 202, retries included). It exits 1 when anything was duplicated or lost.

Settings: DRILL_DATABASE_URL (postgresql+asyncpg://postgres@127.0.0.1:5432/cj_fulfillment_drill,
created and migrated, its tables emptied), DRILL_REDIS_URL (redis://127.0.0.1:6379/11,
flushed), DRILL_ORDERS, DRILL_CLIENTS (20), DRILL_AMBIGUOUS_SHARE.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
from alembic import command
from alembic.config import Config
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "DRILL_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/cj_fulfillment_drill"
)
REDIS_URL = os.environ.get("DRILL_REDIS_URL", "redis://127.0.0.1:6379/11")
ORDERS = int(os.environ.get("DRILL_ORDERS", "500"))
CLIENTS = int(os.environ.get("DRILL_CLIENTS", "20"))
AMBIGUOUS_SHARE = float(os.environ.get("DRILL_AMBIGUOUS_SHARE", "0.35"))
API_KEY = "drill-key"
SIM_QPS = 100
FIRST_OUTAGE_AFTER_SECONDS = 5.0
OUTAGE_EVERY_SECONDS = 20.0
OUTAGE_SECONDS = 2.0
CHAOS_DRAIN_SECONDS = 100.0
DRAIN_TIMEOUT_SECONDS = 240.0
CLIENT_TIMEOUT_SECONDS = 10.0
AMBIGUOUS_KINDS = ("timeout_after_commit", "reset", "http_500")
# A few cjsim variants that ship from the US (the default us-standard option).
SKUS = ("CJ-TSHIRT-RED-M", "CJ-MUG-WHITE-11OZ", "CJ-CAP-NAVY", "CJ-HOODIE-GREY-M")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self._log: IO[bytes] = (logs / f"{name}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


async def prepare_database() -> None:
    url = make_url(DATABASE_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database="postgres"
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database):
            await conn.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await conn.close()
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["sqlalchemy.url"] = DATABASE_URL
    config.attributes["skip_logging_config"] = True
    await asyncio.to_thread(command.upgrade, config, "head")
    conn = await asyncpg.connect(DATABASE_URL.replace("+asyncpg", ""))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()


async def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Chaos:
    """Keeps the share of ambiguous createOrderV2 failures up, and takes CJ down now and then.

    Faults are queued one at a time, so they fall between successful calls (as failures of
    a flaky upstream do) rather than in one block that would just open the breaker.
    """

    def __init__(self, sim: httpx.AsyncClient) -> None:
        self._sim = sim
        self._kinds = itertools.cycle(AMBIGUOUS_KINDS)
        self.injected = 0
        self.outages = 0
        self.calls_during_outages = 0

    async def run(self, stop: asyncio.Event) -> None:
        next_outage = time.monotonic() + FIRST_OUTAGE_AFTER_SECONDS
        while not stop.is_set():
            await self._top_up()
            if time.monotonic() >= next_outage:
                await self._outage()
                next_outage = time.monotonic() + OUTAGE_EVERY_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)

    async def _queued(self) -> int:
        faults = (await self._sim.get("/_sim/faults")).json()
        return sum(f["remaining"] for f in faults.get("createOrderV2", []))

    async def _top_up(self) -> None:
        calls = (await self._sim.get("/_sim/stats")).json()["calls"].get("createOrderV2", 0)
        queued = await self._queued()
        consumed = self.injected - queued
        answered = calls - self.calls_during_outages
        if queued == 0 and consumed < math.ceil(AMBIGUOUS_SHARE * (answered + 1)):
            fault = {"endpoint": "createOrderV2", "kind": next(self._kinds), "count": 1}
            await self._sim.post("/_sim/faults", json=fault)
            self.injected += 1

    async def _outage(self) -> None:
        before = (await self._sim.get("/_sim/stats")).json()["calls"].get("createOrderV2", 0)
        await self._sim.post("/_sim/config", json={"mode": "down"})
        self.outages += 1
        await asyncio.sleep(OUTAGE_SECONDS)
        after = (await self._sim.get("/_sim/stats")).json()["calls"].get("createOrderV2", 0)
        await self._sim.post("/_sim/config", json={"mode": "up"})
        self.calls_during_outages += after - before

    async def heal(self) -> int:
        """Back to normal; the number of injected faults that were used."""
        queued = await self._queued()
        await self._sim.delete("/_sim/faults")
        await self._sim.post("/_sim/config", json={"mode": "up"})
        return self.injected - queued


async def place(
    client: httpx.AsyncClient, vids: list[str], number: int, latencies: list[float]
) -> tuple[str, str | None]:
    """One store fulfillment, retried with its key until accepted; (external id, our id)."""
    external_id = f"drill_{number}_{uuid.uuid4().hex[:8]}"
    body = {
        "external_id": external_id,
        "order_id": f"order_{external_id}",
        "option_id": "us-standard",
        "shipping_address": {
            "name": "Drill Customer",
            "phone": "+1 212 555 0100",
            "address1": f"{number} Main St",
            "city": "New York",
            "province": "NY",
            "country_code": "US",
            "zip": "10001",
        },
        "items": [
            {"line_item_id": f"li_{external_id}_{n}", "vid": vid, "quantity": 1 + n}
            for n, vid in enumerate(random.sample(vids, k=random.randint(1, 2)))
        ],
    }
    headers = {"Idempotency-Key": external_id}
    started = time.monotonic()
    accepted: dict[str, Any] | None = None
    while accepted is None:
        try:
            response = await client.post("/v1/fulfillments", json=body, headers=headers)
        except httpx.TransportError:
            await asyncio.sleep(0.2)
            continue
        if response.status_code in (201, 202):
            accepted = response.json()
        elif response.status_code == 409 or response.status_code >= 500:
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError(f"{external_id}: {response.status_code} {response.text}")
    latencies.append(time.monotonic() - started)
    if number % 20 == 0:  # the store retries an accepted request: it must be a replay
        again = await client.post("/v1/fulfillments", json=body, headers=headers)
        assert again.headers.get("idempotent-replayed") == "true", again.text
        assert again.json()["id"] == accepted["id"], "a replay names another fulfillment"
    return external_id, str(accepted["id"])


async def drain(timeout: float) -> int:
    """Wait until no fulfillment is pending (or `timeout`); how many still are."""
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(DATABASE_URL.replace("+asyncpg", ""))
    try:
        while True:
            waiting: int = await conn.fetchval(
                "SELECT count(*) FROM fulfillments WHERE status = 'pending'"
            )
            if waiting == 0 or time.monotonic() > deadline:
                return waiting
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def rows_by_external_id() -> dict[str, list[dict[str, Any]]]:
    conn = await asyncpg.connect(DATABASE_URL.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT id, external_id, status, cj_order_id, cj_order_number FROM fulfillments"
        )
    finally:
        await conn.close()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["external_id"], []).append(dict(row))
    return grouped


def p99_ms(latencies: list[float]) -> int:
    ordered = sorted(latencies)
    index = min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)
    return round(ordered[index] * 1000)


async def drill(logs: Path) -> int:
    await prepare_database()
    sim_port, web_port = free_port(), free_port()
    sim_url, web_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{web_port}"
    env = {
        "ENVIRONMENT": "development",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SERVICE_API_KEYS": API_KEY,
        "TOKEN_ENCRYPTION_KEY": "drill-encryption-passphrase",
        "CJ_API_BASE_URL": f"{sim_url}/api2.0/v1",
        "CJ_API_KEY": f"CJ{random.randint(10**6, 10**7)}@api@drill{uuid.uuid4().hex}",
        "CJ_QPS": str(SIM_QPS),
        "CJ_TIMEOUT_SECONDS": "1",
        "SUBMIT_BUDGET_MS": "2500",
        "SUBMIT_RETRY_INITIAL_SECONDS": "0.5",
        "SUBMIT_RETRY_MAX_SECONDS": "5",
        "WORKER_CONCURRENCY": "8",
        "WORKER_POLL_SECONDS": "0.2",
        "RUN_WORKER_IN_PROCESS": "false",
    }
    sim_env = {
        "CJSIM_PORT": str(sim_port),
        "CJSIM_QPS": str(SIM_QPS),
        "CJSIM_LOG_LEVEL": "error",
        "CJSIM_STATE": "",  # a fresh simulator per drill, kept in memory
    }
    processes = [Process("cjsim", ["-m", "cjsim"], sim_env, logs)]
    try:
        await wait_http(f"{sim_url}/_sim/stats")
        processes.append(
            Process(
                "web",
                ["-m", "uvicorn", "app.main:app", "--port", str(web_port), "--no-access-log"],
                env,
                logs,
            )
        )
        processes += [Process(f"worker-{n}", ["-m", "app.workers"], env, logs) for n in (1, 2)]
        await wait_http(f"{web_url}/health/live")
        async with httpx.AsyncClient(base_url=sim_url, timeout=10) as sim:
            await sim.post("/_sim/config", json={"hang_ms": 1500})
            catalog = (await sim.get("/_sim/catalog")).json()["variants"]
            vids = [v["vid"] for v in catalog if v["sku"] in SKUS]
            result = await run_load(sim, web_url, vids)
            stats = (await sim.get("/_sim/stats")).json()
    finally:
        for process in reversed(processes):
            process.stop()
    return report(result, stats)


async def run_load(sim: httpx.AsyncClient, web_url: str, vids: list[str]) -> dict[str, Any]:
    chaos = Chaos(sim)
    stop = asyncio.Event()
    chaos_task = asyncio.create_task(chaos.run(stop))
    latencies: list[float] = []
    numbers = iter(range(ORDERS))
    placed: list[tuple[str, str | None]] = []

    async def client_loop(client: httpx.AsyncClient) -> None:
        for number in numbers:
            placed.append(await place(client, vids, number, latencies))

    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=web_url,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=CLIENT_TIMEOUT_SECONDS,
        limits=httpx.Limits(max_connections=CLIENTS),
    ) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(CLIENTS)))
    accepted_in = time.monotonic() - started
    # The workers place the queued ones while CJ keeps failing; then CJ heals.
    pending_at_heal = await drain(CHAOS_DRAIN_SECONDS)
    stop.set()
    await chaos_task
    faults_used = await chaos.heal()
    calls = (await sim.get("/_sim/stats")).json()["calls"].get("createOrderV2", 0)
    await drain(DRAIN_TIMEOUT_SECONDS)
    return {
        "placed": placed,
        "latencies": latencies,
        "accepted_in": accepted_in,
        "faults_used": faults_used,
        "pending_at_heal": pending_at_heal,
        "create_calls": calls,
        "calls_during_outages": chaos.calls_during_outages,
        "outages": chaos.outages,
        "rows": await rows_by_external_id(),
    }


def report(result: dict[str, Any], stats: dict[str, Any]) -> int:
    by_number: dict[str, int] = stats["orders_by_number"]
    rows: dict[str, list[dict[str, Any]]] = result["rows"]
    requested = [external_id for external_id, _ in result["placed"]]
    at_cj = lost = duplicates = 0
    for external_id in requested:
        orders = sum(by_number.get(row["cj_order_number"], 0) for row in rows.get(external_id, []))
        at_cj += orders > 0
        lost += orders == 0
        duplicates += max(orders - 1, 0)
    ours = {row["cj_order_number"] for group in rows.values() for row in group}
    duplicates += sum(n - 1 for n in by_number.values() if n > 1)
    strangers = len(set(by_number) - ours)
    statuses = Counter(row["status"] for group in rows.values() for row in group)
    answered = result["create_calls"] - result["calls_during_outages"]
    share = result["faults_used"] / answered if answered else 0.0
    sys.stdout.write(
        f"drill: {len(requested)} accepted in {result['accepted_in']:.1f} s; under chaos "
        f"{result['create_calls']} createOrderV2 calls, {share:.0%} of those CJ answered "
        "failed ambiguously, "
        f"{result['outages']} outages, {len(requested) - result['pending_at_heal']} placed "
        f"before CJ healed; statuses {dict(statuses)}; CJ orders of no fulfillment "
        f"{strangers}\n"
    )
    sys.stdout.write(
        f"orders: {ORDERS} requested, {at_cj} at cj, duplicates {duplicates}, lost {lost}, "
        f"p99 accept {p99_ms(result['latencies'])} ms\n"
    )
    return 1 if duplicates or lost or strangers or len(requested) != ORDERS else 0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drill-") as directory:
        logs = Path(directory)
        try:
            return asyncio.run(drill(logs))
        except Exception:
            for log in sorted(logs.glob("*.log")):
                sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}\n")
            raise


if __name__ == "__main__":
    raise SystemExit(main())
