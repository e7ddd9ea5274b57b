"""`make bench`: CJ's webhooks at rising rates, and whether every acknowledged one stuck, once.

In one run, all on 127.0.0.1:

- a fresh database (`cj_fulfillment_whbench`, recreated and migrated) holding the
  fulfillments the messages are about (status `created`, each with its CJ order number and
  id), written directly: no CJ is needed. Redis db 8, flushed.
- the service on `uvicorn --workers 2`, verifying signatures (`CJ_WEBHOOK_VERIFY=enforce`,
  `CJ_OPEN_ID` set) on its secret path token: the intake only stores. One worker process
  (`python -m app.workers`, at `WORKER_NICENESS=10` as README advises where web and worker
  share cores) applies what was stored, with a notification sink configured
  (its outbox rows are written; nothing listens at its URL).
- signed ORDER and LOGISTIC messages shaped as CJ sends them (harness/webhook_traffic.py)
  posted open-loop (harness/openloop.py) at each level's rate: each level has orders of
  its own, their messages in rounds, ~10% delivered twice, ~10% of the orders delivered
  before shipped. A level whose committed rate falls below 80% of the offered rate, whose
  p99 passes CJ's 3 s or whose failures pass 1% saturates the service: the higher levels
  are skipped.
- after the last level the worker drains what is stored; the service and worker are
  stopped, then the database is audited (harness/webhook_audit.py).

Per level: intake (answered 200, hence stored) per second and its latency, and applied
(effects committed, from the inbox's `received_at` to `processed_at`): per second from the
level's first stored message to its last applied one, and the lag p50/p99. Then the CPU
microseconds per message of the web and worker processes (from /proc) and the peak RSS of
each. Its last line (the highest level run):
`webhooks: intake <n>/s, p99 <ms> ms, non-200 <n>, applied <n>/s, lag p99 <ms> ms, lost <n>,
duplicates applied <n>`.
It exits 1 when a message was lost, applied twice or left a fulfillment inconsistent.
Raw results and the service's log go to bench/results/. Every process it starts is
stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import uvloop
from harness.charts import levels_chart
from harness.cpu import CpuWatch as GroupCpuWatch
from harness.cpu import peak_rss_mb, process_group
from harness.loadgen import SATURATED_CPU_PCT
from harness.openloop import OK, OpenLoopResult, run_open_loop
from harness.processes import HOST, ROOT, ChildProcess, Children, free_port
from harness.webhook_audit import Audit, audit
from harness.webhook_traffic import (
    LIFECYCLE,
    LOGISTIC_NAME,
    LevelTraffic,
    SeededOrder,
    make_orders,
    plan_level,
)
from redis import Redis
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.db.models import Fulfillment, FulfillmentItem
from app.workers import liveness

LEVELS = (50, 100, 200, 500, 1000)
SECONDS_PER_LEVEL = 10.0
DUPLICATE_SHARE = 0.10
OUT_OF_ORDER_SHARE = 0.10
CJ_ANSWER_LIMIT_MS = 3000.0  # CJ counts a slower answer as a failed delivery
SATURATED_BELOW = 0.8  # committed / offered
SATURATED_FAILURES = 0.01
MAX_IN_FLIGHT = 1000
SHARED_CORES = 0.2  # others using this many cores during a level get a note
CLIENT_TIMEOUT_SECONDS = 10.0
SEED = 20260302
FIRST_CJ_ORDER_ID = 210823100016290555  # CJ's sample id: above 2**53
OPEN_ID = "1742369184712358912"  # CJ's openId is a Long
PATH_TOKEN = "bench-path-token"
DRAIN_TIMEOUT_SECONDS = 120.0
DATABASE = os.environ.get("WEBHOOKS_BENCH_DATABASE", "cj_fulfillment_whbench")
DATABASE_URL = f"postgresql+asyncpg://postgres@{HOST}:5432/{DATABASE}"
REDIS_URL = os.environ.get(
    "WEBHOOKS_BENCH_REDIS_URL",
    f"redis://{HOST}:6379/{int(os.environ.get('WEBHOOKS_BENCH_REDIS_DB', '8'))}",
)
RESULTS = ROOT / "bench" / "results"
UVICORN = (sys.executable, "-m", "uvicorn", "--host", HOST, "--workers", "2")
QUIET = ("--no-access-log", "--log-level", "warning")


def log(line: str) -> None:
    print(line, flush=True)


async def _recreate_database() -> None:
    conn = await asyncpg.connect(host=HOST, port=5432, user="postgres", database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


def _fulfillment(order: SeededOrder, number: int) -> Fulfillment:
    return Fulfillment(
        id=order.fulfillment_id,
        external_id=f"ful_store_{number:05d}",
        order_id=f"order_{number:05d}",
        option_id="us-standard",
        status="created",
        cj_order_number=order.fulfillment_id,
        cj_order_id=order.cj_order_id,
        cj_status="CREATED",
        logistic_name=LOGISTIC_NAME,
        from_country="CN",
        shipping_address={
            "name": "Bench Customer",
            "address1": f"{number} Main St",
            "city": "Nenana",
            "province": "AK",
            "country_code": "US",
            "zip": "99760",
        },
        tracking=[],
        tracking_events=[],
        attempts=1,
        items=[
            FulfillmentItem(
                line_item_id=f"li_{number:05d}", sku="CJ-MUG-WHITE-11OZ", vid="vid-mug", quantity=1
            )
        ],
    )


async def _seed(orders: Sequence[SeededOrder]) -> None:
    engine = create_async_engine(DATABASE_URL)
    try:
        async with AsyncSession(engine) as session:
            session.add_all(_fulfillment(order, n) for n, order in enumerate(orders))
            await session.commit()
    finally:
        await engine.dispose()


def fresh_stores(log_dir: Path, orders: Sequence[SeededOrder]) -> None:
    """An empty, migrated database holding `orders`, and an empty Redis db."""
    asyncio.run(_recreate_database())
    with (log_dir / "setup.log").open("ab") as out:
        subprocess.run(
            (sys.executable, "-m", "alembic", "upgrade", "head"),
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": DATABASE_URL, "LOG_LEVEL": "WARNING"},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=120,
        )
    asyncio.run(_seed(orders))
    flush_redis()


def flush_redis() -> None:
    with Redis.from_url(REDIS_URL) as redis:
        redis.flushdb()


def start_service(children: Children) -> tuple[ChildProcess, ChildProcess, str]:
    """The web service and one worker process, sharing the settings."""
    port = free_port()
    env = {
        "PORT": str(port),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SERVICE_API_KEYS": "bench-service-key",
        "TOKEN_ENCRYPTION_KEY": f"bench-{uuid.uuid4().hex}",
        # Nothing listens there: the webhooks never need CJ, and no worker delivers.
        "CJ_API_BASE_URL": f"http://{HOST}:{free_port()}/api2.0/v1",
        "CJ_API_KEY": "",
        "CJ_OPEN_ID": OPEN_ID,
        "CJ_WEBHOOK_VERIFY": "enforce",
        "CJ_WEBHOOK_PATH_TOKEN": PATH_TOKEN,
        "NOTIFY_URL": f"http://{HOST}:{free_port()}/hooks",
        "NOTIFY_SECRET": f"bench-notify-{uuid.uuid4().hex}",
        "MEDUSA_URL": "",
        "RUN_WORKER_IN_PROCESS": "false",
        # The worker shares the two cores with the intake: README's setting for that.
        "WORKER_NICENESS": "10",
    }
    argv = (*UVICORN, "--port", str(port), *QUIET, "app.main:app")
    service = children.start("service", argv, env)
    base_url = f"http://{HOST}:{port}"
    service.wait_for_http(f"{base_url}/health/ready")
    metrics_port = free_port()
    worker_env = {**env, "WORKER_METRICS_HOST": HOST, "WORKER_METRICS_PORT": str(metrics_port)}
    worker = children.start("worker", (sys.executable, "-m", "app.workers"), worker_env)
    wait_for_heartbeat(worker, f"http://{HOST}:{metrics_port}/metrics")
    return service, worker, base_url


def wait_for_heartbeat(worker: ChildProcess, url: str, timeout: float = 60.0) -> None:
    """Return once the worker's loop beats: a level must not start while it still imports
    (its first level's lag would be its start-up, and its CPU the compiler's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.proc.returncode}:\n{worker.log_tail()}")
        if liveness.check(url)[0]:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the worker did not beat at {url} within {timeout:g} s")


@dataclass(frozen=True)
class Usage:
    """CPU cores in use during a level, on average: the machine is shared."""

    service: float  # uvicorn and its workers
    worker: float  # the worker process that applies what the intake stored
    database: float  # the Postgres backends of the benchmark's database
    client: float  # this process: the load generator
    others: float  # everything else, Postgres' background writers included


async def _backends() -> list[int]:
    conn = await asyncpg.connect(host=HOST, port=5432, user="postgres", database="postgres")
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", DATABASE)
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


class CpuWatch:
    """The CPU the service, its database, the client and everyone else use in between
    (harness/cpu.py's watch, as cores on average), summed over the levels per group."""

    def __init__(self, service: ChildProcess, worker: ChildProcess) -> None:
        self._service = service
        self._worker = worker
        self._watch = GroupCpuWatch(
            {
                "service": lambda: process_group(service.proc.pid),
                "worker": lambda: process_group(worker.proc.pid),
                "database": lambda: asyncio.run(_backends()),
                "client": lambda: [os.getpid()],
            }
        )
        self.cpu_seconds: dict[str, float] = {}

    def start(self) -> None:
        self._watch.start()

    def stop(self) -> Usage:
        measured = self._watch.stop()
        self.cpu_seconds = {
            name: self.cpu_seconds.get(name, 0.0) + seconds
            for name, seconds in measured.used.items()
        }
        return Usage(**{name: measured.cores(name) for name in measured.used},
                     others=measured.others_cores)  # fmt: skip

    def peak_rss_mb(self) -> dict[str, list[float]]:
        """Each live web and worker process's peak resident memory (VmHWM), in MB."""
        return {
            name: [peak_rss_mb(pid) for pid in process_group(child.proc.pid)]
            for name, child in (("service", self._service), ("worker", self._worker))
        }


@dataclass(frozen=True)
class Applied:
    """What the worker made of a level's stored messages."""

    count: int
    per_second: float
    lag_p50_ms: float
    lag_p99_ms: float


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _drain() -> int:
    """Wait until the worker has applied everything stored; returns what is left."""
    conn = await asyncpg.connect(DATABASE_URL.replace("+asyncpg", ""))
    try:
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while True:
            left: int = await conn.fetchval(
                "SELECT count(*) FROM webhook_inbox WHERE status = 'received'"
            )
            if left == 0 or time.monotonic() > deadline:
                return left
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def _applied(levels: Sequence[LevelTraffic]) -> list[Applied]:
    conn = await asyncpg.connect(DATABASE_URL.replace("+asyncpg", ""))
    try:
        found = []
        for level in levels:
            ids = list({message.message_id for message in level.deliveries})
            rows = await conn.fetch(
                "SELECT received_at, processed_at FROM webhook_inbox "
                "WHERE message_id = ANY($1) AND status = 'applied'",
                ids,
            )
            lags = [(r["processed_at"] - r["received_at"]).total_seconds() * 1000 for r in rows]
            span = (
                (max(r["processed_at"] for r in rows) - min(r["received_at"] for r in rows))
                if rows
                else None
            )
            seconds = span.total_seconds() if span else 0.0
            found.append(
                Applied(
                    count=len(rows),
                    per_second=len(rows) / seconds if seconds > 0 else 0.0,
                    lag_p50_ms=_quantile(lags, 0.50),
                    lag_p99_ms=_quantile(lags, 0.99),
                )
            )
        return found
    finally:
        await conn.close()


def plan(levels: Sequence[int], seconds: float) -> list[LevelTraffic]:
    """Each level's orders and deliveries, about `rate * seconds` deliveries each."""
    rng = random.Random(SEED)
    per_delivery = len(LIFECYCLE) * (1 + DUPLICATE_SHARE)
    counts = [max(1, round(rate * seconds / per_delivery)) for rate in levels]
    orders = make_orders(rng, sum(counts), FIRST_CJ_ORDER_ID)
    traffic = []
    for rate, count in zip(levels, counts, strict=True):
        mine, orders = orders[:count], orders[count:]
        traffic.append(
            plan_level(
                rng,
                mine,
                rate,
                OPEN_ID,
                duplicate_share=DUPLICATE_SHARE,
                out_of_order_share=OUT_OF_ORDER_SHARE,
            )
        )
    return traffic


def saturated(result: OpenLoopResult) -> str | None:
    """Why the service cannot take a higher rate, if it cannot."""
    if result.ok_per_second < SATURATED_BELOW * result.rate:
        return f"committed {result.ok_per_second:.0f}/s of {result.rate:g}/s offered"
    if result.latency_ms(0.99) > CJ_ANSWER_LIMIT_MS:
        return f"p99 {result.latency_ms(0.99):.0f} ms, over CJ's 3 s"
    if result.failed > SATURATED_FAILURES * result.sent:
        return f"{result.failed} of {result.sent} not answered 200"
    return None


Row = tuple[LevelTraffic, OpenLoopResult, Usage, Applied]
TABLE_COLUMNS: tuple[tuple[str, Callable[[Row], str]], ...] = (
    ("offered/s", lambda r: f"{r[1].rate:g}"),
    ("orders", lambda r: str(len(r[0].orders))),
    ("deliveries", lambda r: str(r[1].planned)),
    ("sent twice", lambda r: str(r[0].duplicates)),
    ("out of order", lambda r: str(r[0].out_of_order)),
    ("intake/s", lambda r: f"{r[1].ok_per_second:.1f}"),
    ("p50 ms", lambda r: f"{r[1].latency_ms(0.50):.1f}"),
    ("p99 ms", lambda r: f"{r[1].latency_ms(0.99):.1f}"),
    ("max ms", lambda r: f"{r[1].latency_ms(1.0):.1f}"),
    ("non-200", lambda r: str(r[1].failed)),
    ("> 3 s", lambda r: str(r[1].slower_than(CJ_ANSWER_LIMIT_MS))),
    ("not sent", lambda r: str(r[1].planned - r[1].sent)),
    ("applied/s", lambda r: f"{r[3].per_second:.1f}"),
    ("lag p50 ms", lambda r: f"{r[3].lag_p50_ms:.0f}"),
    ("lag p99 ms", lambda r: f"{r[3].lag_p99_ms:.0f}"),
    ("service cores", lambda r: f"{r[2].service:.2f}"),
    ("worker cores", lambda r: f"{r[2].worker:.2f}"),
    ("db cores", lambda r: f"{r[2].database:.2f}"),
    ("client cores", lambda r: f"{r[2].client:.2f}"),
    ("others' cores", lambda r: f"{r[2].others:.2f}"),
)


def table(rows: Sequence[Row]) -> list[str]:
    cells = [[header for header, _ in TABLE_COLUMNS]]
    cells += [[cell(row) for _, cell in TABLE_COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(TABLE_COLUMNS))]
    lines = [
        "  ".join(text.rjust(width) for text, width in zip(line, widths, strict=True))
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def notes(rows: Sequence[Row], skipped: Sequence[int], why: str | None, found: Audit) -> list[str]:
    lines = []
    shared = [f"{t.rate:g}/s: {u.others:.2f}" for t, _, u, _ in rows if u.others >= SHARED_CORES]
    if shared:
        lines.append(
            f"note: other processes used cores of this {os.cpu_count()}-core machine "
            f"({', '.join(shared)}): the service had less than the whole machine"
        )
    for traffic, result, _, _ in rows:
        failures = {kind: n for kind, n in result.answers.items() if kind != OK}
        if failures:
            kinds = ", ".join(f"{kind} x{n}" for kind, n in failures.items())
            lines.append(f"not 200 at {traffic.rate:g}/s: {kinds}")
        if result.client_cpu_pct >= SATURATED_CPU_PCT:
            lines.append(
                f"note: the load generator used {result.client_cpu_pct:.0f}% of a core at "
                f"{traffic.rate:g}/s: it may have sent late (latency counts from the due time)"
            )
    if why:
        lines.append(f"saturated: {why}; levels not run: {', '.join(map(str, skipped)) or '-'}")
    lines.append(
        f"audit: {found.acknowledged} distinct messages acknowledged, {found.stored} stored, "
        f"lost {found.lost}, duplicates applied {found.duplicates_applied}, "
        f"inconsistent {found.inconsistencies}"
    )
    lines += [f"  duplicate: {kind} x{n}" for kind, n in found.duplicates.items()]
    lines += [f"  inconsistent: {kind} x{n}" for kind, n in found.inconsistent.items()]
    return lines


def chart(rows: Sequence[Row], path: Path) -> Path:
    """Intake and applied against offered per level, and their p99s."""
    levels = [f"{r[1].rate:g}/s" for r in rows]
    per_second = {
        "offered": [r[1].rate for r in rows],
        "intake": [r[1].ok_per_second for r in rows],
        "applied": [r[3].per_second for r in rows],
    }
    p99 = {
        "intake p99": [r[1].latency_ms(0.99) for r in rows],
        "lag p99": [r[3].lag_p99_ms for r in rows],
    }
    title = (
        f"bench/webhooks.py {path.stem.removeprefix('webhooks-')}: {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )
    return levels_chart(path, title, levels, [("messages/s", per_second, False), ("ms", p99, True)])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS_PER_LEVEL, help="per level")
    parser.add_argument(
        "--levels", type=int, nargs="+", default=list(LEVELS), help="offered messages/s"
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    traffic = plan(args.levels, args.seconds)
    orders = [order for level in traffic for order in level.orders]
    measured: list[tuple[LevelTraffic, OpenLoopResult, Usage]] = []
    why: str | None = None
    with Children(log_dir, os.environ) as children:
        fresh_stores(log_dir, orders)
        service, worker, base_url = start_service(children)
        cpu = CpuWatch(service, worker)
        for level in traffic:
            cpu.start()
            result = uvloop.run(
                run_open_loop(
                    f"{base_url}/webhooks/cj/{PATH_TOKEN}",
                    [message.post for message in level.deliveries],
                    level.rate,
                    max_in_flight=MAX_IN_FLIGHT,
                    timeout_s=CLIENT_TIMEOUT_SECONDS,
                )
            )
            usage = cpu.stop()
            measured.append((level, result, usage))
            log(
                f"  {level.rate:>5g}/s offered: {result.ok_per_second:7.1f}/s intake, "
                f"p99 {result.latency_ms(0.99):7.1f} ms, non-200 {result.failed}, "
                f"others used {usage.others:.2f} of {os.cpu_count()} cores"
            )
            why = saturated(result)
            if why:
                break
        cpu.start()
        left = asyncio.run(_drain())
        cpu.stop()
        rss = cpu.peak_rss_mb()
        # Stopped before the audit: an answer that timed out may still be committing.
        children.stop(service)
        children.stop(worker)
    applied = asyncio.run(_applied([level for level, _, _ in measured]))
    rows: list[Row] = [(*m, a) for m, a in zip(measured, applied, strict=True)]
    sent = [
        (message, outcome)
        for level, result, _, _ in rows
        for message, outcome in zip(level.deliveries, result.outcomes, strict=True)
    ]
    found = asyncio.run(audit(DATABASE_URL.replace("+asyncpg", ""), orders, sent, OK))
    flush_redis()
    skipped = [level.rate for level in traffic[len(rows) :]]
    stored = found.stored or 1
    per_message = {
        name: round(cpu.cpu_seconds.get(name, 0.0) * 1e6 / stored)
        for name in ("service", "worker", "database")
    }
    return {
        "rows": rows,
        "audit": found,
        "why": why,
        "skipped": skipped,
        "left_unapplied": left,
        "cpu_us_per_message": per_message,
        "peak_rss_mb": rss,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir = RESULTS / f"webhooks-{stamp}-logs"
    log_dir.mkdir(parents=True)
    started = time.monotonic()
    load_before = os.getloadavg()
    log(
        f"webhooks bench: levels {args.levels} msg/s, {args.seconds:g} s each, on "
        f"{os.cpu_count()} cpus (load average {load_before[0]:.2f}); logs in {log_dir}"
    )
    outcome = run(args, log_dir)
    rows: list[Row] = outcome["rows"]
    found: Audit = outcome["audit"]
    top, top_applied = rows[-1][1], rows[-1][3]
    summary = (
        f"webhooks: intake {top.ok_per_second:.0f}/s, p99 {top.latency_ms(0.99):.0f} ms, "
        f"non-200 {top.failed}, applied {top_applied.per_second:.0f}/s, "
        f"lag p99 {top_applied.lag_p99_ms:.0f} ms, lost {found.lost}, "
        f"duplicates applied {found.duplicates_applied}"
    )
    cpu_line = ", ".join(f"{k} {v}" for k, v in outcome["cpu_us_per_message"].items())
    rss_line = ", ".join(
        f"{name} {' / '.join(f'{mb:.0f}' for mb in values)} MB"
        for name, values in outcome["peak_rss_mb"].items()
    )
    raw = RESULTS / f"webhooks-{stamp}.json"
    report = {
        "started_at": stamp,
        "seconds_total": round(time.monotonic() - started, 1),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "levels": [
            {
                "offered_per_second": traffic.rate,
                "orders": len(traffic.orders),
                "deliveries": result.planned,
                "sent": result.sent,
                "sent_twice": traffic.duplicates,
                "out_of_order_orders": traffic.out_of_order,
                "seconds": round(result.seconds, 2),
                "intake_per_second": round(result.ok_per_second, 1),
                "applied": asdict(applied),
                "p50_ms": round(result.latency_ms(0.50), 1),
                "p99_ms": round(result.latency_ms(0.99), 1),
                "max_ms": round(result.latency_ms(1.0), 1),
                "answers": dict(result.answers),
                "client_cpu_pct": round(result.client_cpu_pct, 1),
                "cpu_cores": {name: round(v, 2) for name, v in asdict(usage).items()},
            }
            for traffic, result, usage, applied in rows
        ],
        "left_unapplied": outcome["left_unapplied"],
        "cpu_us_per_message": outcome["cpu_us_per_message"],
        "peak_rss_mb": outcome["peak_rss_mb"],
        "saturated": outcome["why"],
        "levels_not_run": outcome["skipped"],
        "audit": {
            "acknowledged": found.acknowledged,
            "stored": found.stored,
            "lost": found.lost,
            "duplicates_applied": dict(found.duplicates),
            "inconsistent": dict(found.inconsistent),
        },
        "summary": summary,
    }
    raw.write_text(json.dumps(report, indent=2) + "\n")
    drawn = chart(rows, raw.with_suffix(".png"))

    log("")
    for line in table(rows):
        log(line)
    for line in notes(rows, outcome["skipped"], outcome["why"], found):
        log(line)
    if outcome["left_unapplied"]:
        log(f"not applied within {DRAIN_TIMEOUT_SECONDS:g} s: {outcome['left_unapplied']}")
    log(f"cpu per stored message (µs): {cpu_line}")
    log(f"peak RSS per process: {rss_line}")
    log(f"load average after: {os.getloadavg()[0]:.2f}; raw results: {raw}, chart: {drawn}")
    log(summary)
    return 1 if found.lost or found.duplicates_applied or found.inconsistencies else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("webhooks bench: interrupted; the processes it started are stopped", file=sys.stderr)
        sys.exit(130)
