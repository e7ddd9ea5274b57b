"""`make bench`: checkout rates under load, against a CJ that allows 1 request per second.

In one run, all on 127.0.0.1, with the same request mix (harness/workload.py) and the same
load generator (harness/loadgen.py) at rising concurrency:

- `bare`: a bare FastAPI endpoint on the same uvicorn with 2 workers (the ceiling);
- `service`: the service (`uvicorn app.main:app --workers 2`, Postgres, Redis, rate cache on)
  against cjsim at 1 QPS answering in 300-800 ms, starting cold (no cached quote, no token);
- `naive`: the same service with `RATES_CACHE_ENABLED=false` (a fresh database, Redis and
  simulator): every request asks CJ itself within its budget, as a provider without a
  cache would.

It prints a table per target and level, then as its last line
`rates: <req/s> req/s (<pct>% of bare), p99 <ms> ms, priced <pct>%, cj qps violations <n>,
naive priced <pct>%` (the service at the highest level; "priced" is the share of all its
answers with a price from CJ: live, cache or stale). Raw results and the children's logs go
to bench/results/. Every process it starts is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import platform
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import httpx
import uvloop
from harness.best_share import Quotes, QuotesNeeded, best_share
from harness.charts import levels_chart
from harness.cpu import CpuWatch, Usage, peak_rss_mb, process_group
from harness.loadgen import SATURATED_CPU_PCT, LevelResult, RequestStream, run_level
from harness.processes import HOST, ROOT, ChildProcess, Children, free_port
from harness.store_bound import SPACING_S, CJModel, expected_share
from harness.store_traffic import StoreMix, StoreResult, plan_store, run_store
from harness.workload import Mix, Variant, make_workload, options_by_country
from redis import Redis

LEVELS = (4, 16, 64)
SECONDS_PER_LEVEL = 20.0
MAX_REQUESTS_PER_LEVEL = 200_000
STORE_SECONDS = 180.0  # the realistic store: its first minute warms the cache
# cjsim draws each call's latency uniformly from latency_ms ± jitter_ms: 300-800 ms.
CJSIM_CONFIG = {
    "qps": 1,
    "latency_ms": 550,
    "jitter_ms": 250,
    "points_per_day": 10_000_000,
    "mode": "up",
}
DATABASE = os.environ.get("BENCH_DATABASE", "cj_fulfillment_bench")
REDIS_URL = os.environ.get(
    "BENCH_REDIS_URL", f"redis://{HOST}:6379/{int(os.environ.get('BENCH_REDIS_DB', '9'))}"
)
OPTIONS_FILE = ROOT / "app" / "options.default.yaml"
RESULTS = ROOT / "bench" / "results"
SERVICE_KEY = "bench-service-key"
BARE_KEY = "bench-bare-key"
UVICORN = (sys.executable, "-m", "uvicorn", "--host", HOST, "--workers", "2")
QUIET = ("--no-access-log", "--log-level", "warning")


# The service's CJ as harness/store_bound.py models it: the limiter's margin over cjsim's
# QPS, RATES_BUDGET_MS's default (the service is started with it), cjsim's answer times
# (CJSIM_CONFIG).
STORE_MODEL = CJModel(
    spacing_s=SPACING_S / CJSIM_CONFIG["qps"],
    latency_s=(
        (CJSIM_CONFIG["latency_ms"] - CJSIM_CONFIG["jitter_ms"]) / 1000,
        (CJSIM_CONFIG["latency_ms"] + CJSIM_CONFIG["jitter_ms"]) / 1000,
    ),
)


def log(line: str) -> None:
    print(line, flush=True)


class Simulator:
    """cjsim, and its control API."""

    def __init__(self, children: Children) -> None:
        port = free_port()
        self.base_url = f"http://{HOST}:{port}"
        env = {
            "CJSIM_HOST": HOST,
            "CJSIM_PORT": str(port),
            "CJSIM_QPS": str(CJSIM_CONFIG["qps"]),
            "CJSIM_LATENCY_MS": str(CJSIM_CONFIG["latency_ms"]),
            "CJSIM_JITTER_MS": str(CJSIM_CONFIG["jitter_ms"]),
            "CJSIM_POINTS_PER_DAY": str(CJSIM_CONFIG["points_per_day"]),
            "CJSIM_LOG_LEVEL": "warning",
            "CJSIM_STATE": "",  # a fresh simulator per target, kept in memory
        }
        self.process = children.start("cjsim", (sys.executable, "-m", "cjsim"), env)
        self.process.wait_for_http(f"{self.base_url}/_sim/stats")
        self.control = httpx.Client(base_url=self.base_url, timeout=10)

    def reset(self) -> None:
        self.control.post("/_sim/reset").raise_for_status()
        self.control.post("/_sim/config", json=CJSIM_CONFIG).raise_for_status()

    def catalog(self) -> list[dict[str, Any]]:
        variants: list[dict[str, Any]] = self.control.get("/_sim/catalog").json()["variants"]
        return variants

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.control.get("/_sim/stats").json()
        stats.pop("orders_by_number", None)
        return stats


async def _recreate_database(name: str) -> None:
    conn = await asyncpg.connect(host=HOST, port=5432, user="postgres", database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def write_sku_mappings(catalog: Sequence[Mapping[str, Any]], path: Path) -> None:
    """The store's SKUs are the catalogue's; each maps to its CJ variant."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("sku", "vid", "from_country"))
        writer.writerows((v["sku"], v["vid"], v["from_country"]) for v in catalog)


def fresh_stores(log_dir: Path, skus_csv: Path) -> str:
    """An empty, migrated database holding the SKU mappings, and an empty Redis db.

    Returns the database URL."""
    asyncio.run(_recreate_database(DATABASE))
    url = f"postgresql+asyncpg://postgres@{HOST}:5432/{DATABASE}"
    setup = (
        (sys.executable, "-m", "alembic", "upgrade", "head"),
        # The simulator's own vids: saved without asking CJ, so the benchmark starts cold.
        (
            str(Path(sys.executable).with_name("cj-fulfillment")),
            "skus",
            "import",
            "--no-check",
            str(skus_csv),
        ),
    )
    with (log_dir / "setup.log").open("ab") as out:
        for argv in setup:
            subprocess.run(
                argv,
                cwd=ROOT,
                env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=120,
            )
    flush_redis()
    return url


def flush_redis() -> None:
    with Redis.from_url(REDIS_URL) as redis:
        redis.flushdb()


def start_service(
    children: Children,
    name: str,
    sim: Simulator,
    skus_csv: Path,
    *,
    cache: bool,
    log_level: str = "WARNING",
) -> tuple[ChildProcess, str]:
    port = free_port()
    env = {
        "PORT": str(port),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": log_level,
        "DATABASE_URL": fresh_stores(children.log_dir, skus_csv),
        "REDIS_URL": REDIS_URL,
        "SERVICE_API_KEYS": SERVICE_KEY,
        "TOKEN_ENCRYPTION_KEY": f"bench-{uuid.uuid4().hex}",
        "CJ_API_BASE_URL": f"{sim.base_url}/api2.0/v1",
        "CJ_API_KEY": f"CJ{uuid.uuid4().int % 10**9}@api@bench{uuid.uuid4().hex}",
        "CJ_QPS": "1",
        "CJ_OPEN_ID": "",
        "OPTIONS_FILE": str(OPTIONS_FILE),
        "RATES_CACHE_ENABLED": "true" if cache else "false",
        # The budget the store's model expects, whatever a developer's .env says.
        "RATES_BUDGET_MS": str(round(STORE_MODEL.budget_s * 1000)),
        "RUN_WORKER_IN_PROCESS": "false",
    }
    argv = (*UVICORN, "--port", str(port), *QUIET, "app.main:app")
    service = children.start(name, argv, env)
    base_url = f"http://{HOST}:{port}"
    service.wait_for_http(f"{base_url}/health/ready")
    return service, base_url


def start_bare(children: Children) -> tuple[ChildProcess, str]:
    port = free_port()
    argv = (*UVICORN, "--port", str(port), *QUIET, "--app-dir", "bench", "harness.bare_app:app")
    bare = children.start("bare", argv, {"BENCH_BARE_API_KEY": BARE_KEY})
    base_url = f"http://{HOST}:{port}"
    bare.wait_for_http(f"{base_url}/health/live")
    return bare, base_url


@dataclass(frozen=True)
class Level:
    """One level's answers, the target's CPU during it, and the best share of answers any
    scheduler could have priced with CJ's requests so far (None for bare: no CJ)."""

    result: LevelResult
    usage: Usage
    best_pct: float | None

    @property
    def cpu_us(self) -> float:
        """The target's CPU (all its processes) per request, in µs."""
        return self.usage.microseconds_per("target", self.result.requests)


def watch(child: ChildProcess) -> CpuWatch:
    return CpuWatch({"target": lambda: process_group(child.proc.pid)})


def peak_rss(child: ChildProcess) -> list[float]:
    """Peak RSS (MB) of each of the target's processes (uvicorn's supervisor, its workers)."""
    return [peak_rss_mb(pid) for pid in sorted(process_group(child.proc.pid))]


def drive(
    target: str,
    child: ChildProcess,
    base_url: str,
    api_key: str,
    bodies: Sequence[bytes],
    args: argparse.Namespace,
    bare: Sequence[Level] = (),
) -> list[Level]:
    """Every level in turn, one request stream for the whole target (the cache warms up).

    Given bare's levels (a service), each line also says the share of bare's req/s and
    the best share any scheduler could have priced."""
    stream = RequestStream(bodies)
    cpu = watch(child)
    needed = QuotesNeeded(OPTIONS_FILE)
    asked: list[Quotes] = []
    elapsed = 0.0
    levels = []
    for n, concurrency in enumerate(args.levels):
        first = stream.taken
        cpu.start()
        result = uvloop.run(
            run_level(
                target=target,
                url=f"{base_url}/v1/rates",
                api_key=api_key,
                stream=stream,
                concurrency=concurrency,
                seconds=args.seconds,
                max_requests=args.max_requests,
            )
        )
        usage = cpu.stop()
        best = None
        if bare:
            this_level = [needed.of(body) for body in stream.since(first)]
            asked += this_level
            elapsed += result.seconds
            quotes = math.floor(elapsed * CJSIM_CONFIG["qps"])
            best = 100 * best_share(asked, this_level, quotes)
        level = Level(result, usage, best)
        line = (
            f"  {target:<8} {concurrency:>3} clients: {result.ok_per_second:8.1f} req/s, "
            f"p99 {result.latency_ms(0.99):7.1f} ms, priced {result.pct(result.priced):5.1f}%"
        )
        if best is not None:
            line += f" (best {best:.1f}%)"
        line += f", errors {result.errors}, cpu {level.cpu_us:.0f} µs/req"
        if bare:
            ceiling = bare[n]
            ratio = result.ok_per_second / ceiling.result.ok_per_second
            line += f" (bare {ceiling.cpu_us:.0f}), {100 * ratio:.0f}% of bare's req/s"
        log(f"{line}, others used {usage.others_cores:.2f} cores")
        levels.append(level)
    return levels


def drive_store(
    child: ChildProcess,
    base_url: str,
    catalog: Sequence[Mapping[str, Any]],
    args: argparse.Namespace,
) -> tuple[StoreMix, StoreResult, Usage, float]:
    """The realistic store on a cold service: a few requests a second, open loop; with the
    share of CJ-priced answers after the warm-up a scheduler like the service's can expect
    on its plan (harness/store_bound.py)."""
    mix = StoreMix(rate=args.store_rate)
    variants = [Variant(ref=v["sku"], weight_g=v["weight_g"]) for v in catalog]
    plan = plan_store(variants, options_by_country(OPTIONS_FILE), mix, args.store_seconds)
    cpu = watch(child)
    cpu.start()
    result = uvloop.run(run_store(f"{base_url}/v1/rates", SERVICE_KEY, plan, mix))
    usage = cpu.stop()
    with (child.log_path.parent / "store-answers.jsonl").open("w") as out:
        out.writelines(json.dumps(d, separators=(",", ":")) + "\n" for d in result.details)
    expected, chance = expected_share(plan, STORE_MODEL, mix, 1000, random.Random(0))
    log(
        f"  store    {mix.rate:g} req/s offered: {result.requests} requests in "
        f"{result.seconds:.0f} s, p99 {result.latency_ms(0.99):.1f} ms, errors {result.errors}; "
        f"after the first {mix.warmup_seconds:g} s {result.cj_priced_after_warmup_pct:.1f}% of "
        f"{sum(result.after_warmup().values())} answers carry CJ's price (live or cache; "
        f"expected {expected:.1f}% of the service's scheduling, {100 * chance:.0f}% of runs "
        f"at 99% or more); cpu {usage.microseconds_per('target', result.requests):.0f} µs/req"
    )
    return mix, result, usage, expected


TABLE_COLUMNS: tuple[tuple[str, Callable[[LevelResult], str]], ...] = (
    ("target", lambda r: r.target),
    ("clients", lambda r: str(r.concurrency)),
    ("req/s", lambda r: f"{r.ok_per_second:.1f}"),
    ("p50 ms", lambda r: f"{r.latency_ms(0.50):.1f}"),
    ("p99 ms", lambda r: f"{r.latency_ms(0.99):.1f}"),
    ("live %", lambda r: f"{r.pct(r.answers['live']):.1f}"),
    ("cache %", lambda r: f"{r.pct(r.answers['cache']):.1f}"),
    ("stale %", lambda r: f"{r.pct(r.answers['stale']):.1f}"),
    ("static %", lambda r: f"{r.pct(r.answers['static']):.1f}"),
    ("mixed %", lambda r: f"{r.pct(r.answers['mixed'] + r.answers['empty']):.1f}"),
    ("error %", lambda r: f"{r.pct(r.errors):.1f}"),
    ("requests", lambda r: str(r.requests)),
    ("client cpu %", lambda r: f"{r.client_cpu_pct:.0f}" + (" (!)" if r.client_saturated else "")),
)


def table(results: Sequence[LevelResult]) -> list[str]:
    rows = [[header for header, _ in TABLE_COLUMNS]]
    rows += [[cell(result) for _, cell in TABLE_COLUMNS] for result in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    lines = [
        "  ".join(
            text.ljust(width) if column == 0 else text.rjust(width)
            for column, (text, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def results_of(runs: Mapping[str, Sequence[Level]]) -> dict[str, list[LevelResult]]:
    return {target: [level.result for level in levels] for target, levels in runs.items()}


def share_priced(results: Sequence[LevelResult]) -> float:
    requests = sum(r.requests for r in results)
    return 100 * sum(r.priced for r in results) / requests if requests else 0.0


def last_line(runs: Mapping[str, Sequence[LevelResult]], qps_violations: int) -> str:
    top, ceiling = runs["service"][-1], runs["bare"][-1]
    of_bare = 100 * top.ok_per_second / ceiling.ok_per_second if ceiling.ok_per_second else 0.0
    return (
        f"rates: {top.ok_per_second:.0f} req/s ({of_bare:.0f}% of bare), "
        f"p99 {top.latency_ms(0.99):.0f} ms, priced {share_priced(runs['service']):.1f}%, "
        f"cj qps violations {qps_violations}, naive priced {share_priced(runs['naive']):.1f}%"
    )


def notes(
    runs: Mapping[str, Sequence[LevelResult]], cj_stats: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """What the table does not show: CJ's side, the errors by kind, a saturated client."""
    lines = [
        f"cjsim ({target}): {stats['calls'].get('freightCalculate', 0)} freightCalculate, "
        f"{stats['qps_violations']} qps violations, {stats['points_used']} points"
        for target, stats in cj_stats.items()
    ]
    for target, results in runs.items():
        errors: Counter[str] = Counter()
        for result in results:
            errors.update({k: n for k, n in result.answers.items() if k.startswith("error ")})
        if errors:
            kinds = ", ".join(f"{kind.removeprefix('error ')} x{n}" for kind, n in errors.items())
            lines.append(f"errors ({target}): {kinds}")
    saturated = [
        f"{result.target}/{result.concurrency}"
        for results in runs.values()
        for result in results
        if result.client_saturated
    ]
    if saturated:
        lines.append(
            f"note: the load generator used >= {SATURATED_CPU_PCT:g}% of a core at "
            f"{', '.join(saturated)}: those req/s are a floor, not the target's limit"
        )
    return lines


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS_PER_LEVEL, help="per level")
    parser.add_argument(
        "--levels", type=int, nargs="+", default=list(LEVELS), help="concurrent clients"
    )
    parser.add_argument("--max-requests", type=int, default=MAX_REQUESTS_PER_LEVEL)
    parser.add_argument(
        "--store-seconds",
        type=float,
        default=STORE_SECONDS,
        help="the realistic store's level (0: skip it)",
    )
    parser.add_argument(
        "--only-store",
        action="store_true",
        help="run only the realistic store's level (no bare, service or naive levels)",
    )
    parser.add_argument(
        "--store-log-level",
        default="WARNING",
        help="the store's service LOG_LEVEL (INFO logs each CJ call and fallback, for "
        "diagnosis; its answers are in store-answers.jsonl beside the logs either way)",
    )
    parser.add_argument(
        "--store-rate", type=float, default=StoreMix.rate, help="its requests per second"
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def chart(runs: Mapping[str, Sequence[Level]], path: Path, host: Mapping[str, Any]) -> Path:
    """req/s and p99 per level, each target beside the others."""
    levels = [f"{level.result.concurrency} clients" for level in runs["bare"]]
    per_second = {t: [lv.result.ok_per_second for lv in levels_] for t, levels_ in runs.items()}
    p99 = {t: [lv.result.latency_ms(0.99) for lv in levels_] for t, levels_ in runs.items()}
    title = (
        f"bench/rates.py {path.stem.removeprefix('rates-')}: {host['cpus']} cores, "
        f"load average {host['load_average_at_start'][0]:.2f} at the start"
    )
    return levels_chart(path, title, levels, [("req/s", per_second, False), ("p99 ms", p99, True)])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir = RESULTS / f"rates-{stamp}-logs"
    log_dir.mkdir(parents=True)
    mix = Mix()
    started = time.monotonic()
    host = machine()
    log(
        f"rates bench: levels {args.levels}, {args.seconds:g} s each, on {host['cpus']} x "
        f"{host['cpu_model']} (load average {host['load_average_at_start'][0]:.2f}); "
        f"logs in {log_dir}"
    )
    runs: dict[str, list[Level]] = {}
    rss: dict[str, list[float]] = {}
    cj_stats: dict[str, dict[str, Any]] = {}
    with Children(log_dir, os.environ) as children:
        sim = Simulator(children)
        sim.reset()
        catalog = sim.catalog()
        skus_csv = log_dir / "skus.csv"
        write_sku_mappings(catalog, skus_csv)
        variants = [Variant(ref=v["sku"], weight_g=v["weight_g"]) for v in catalog]
        workload = make_workload(variants, "sku", options_by_country(OPTIONS_FILE), mix)
        log(
            f"  workload: {len(workload.bodies)} requests over {workload.distinct_pairs} of "
            f"{workload.pairs} (cart, destination) pairs"
        )

        if not args.only_store:
            bare, url = start_bare(children)
            runs["bare"] = drive("bare", bare, url, BARE_KEY, workload.bodies, args)
            rss["bare"] = peak_rss(bare)
            children.stop(bare)

            for target, cache in (("service", True), ("naive", False)):
                sim.reset()
                service, url = start_service(children, target, sim, skus_csv, cache=cache)
                runs[target] = drive(
                    target, service, url, SERVICE_KEY, workload.bodies, args, runs["bare"]
                )
                rss[target] = peak_rss(service)
                cj_stats[target] = sim.stats()
                children.stop(service)

        store: tuple[StoreMix, StoreResult, Usage, float] | None = None
        if args.store_seconds > 0 or args.only_store:
            sim.reset()
            service, url = start_service(
                children, "store", sim, skus_csv, cache=True, log_level=args.store_log_level
            )
            store = drive_store(service, url, catalog, args)
            rss["store"] = peak_rss(service)
            cj_stats["store"] = sim.stats()
            children.stop(service)
    flush_redis()
    if args.only_store:
        assert store is not None
        for line in notes({}, cj_stats):
            log(line)
        log(f"answers: {log_dir / 'store-answers.jsonl'}, service log: {log_dir / 'store.log'}")
        return 0

    summary = last_line(results_of(runs), cj_stats["service"]["qps_violations"])
    raw = RESULTS / f"rates-{stamp}.json"
    report = {
        "started_at": stamp,
        "seconds_total": round(time.monotonic() - started, 1),
        "machine": host | {"load_average_at_end": os.getloadavg()},
        "levels": args.levels,
        "seconds_per_level": args.seconds,
        "mix": asdict(mix),
        "workload": {"requests": len(workload.bodies), "pairs": workload.pairs,
                     "distinct_pairs": workload.distinct_pairs},
        "cjsim_config": CJSIM_CONFIG,
        "cjsim_stats": cj_stats,
        "results": [
            level.result.summary() | {
                "cpu_us_per_request": round(level.cpu_us, 1),
                "others_cores": round(level.usage.others_cores, 2),
                "best_priced_pct": None if level.best_pct is None else round(level.best_pct, 2),
            }
            for levels in runs.values() for level in levels
        ],
        "peak_rss_mb": {target: [round(mb, 1) for mb in sizes] for target, sizes in rss.items()},
        "store": None if store is None else {
            "mix": asdict(store[0]),
            "requests": store[1].requests,
            "seconds": round(store[1].seconds, 1),
            "answers_after_warmup": dict(store[1].after_warmup()),
            "cj_priced_after_warmup_pct": round(store[1].cj_priced_after_warmup_pct, 2),
            "expected_cj_priced_after_warmup_pct": round(store[3], 2),
            "p99_ms": round(store[1].latency_ms(0.99), 1),
            "errors": store[1].errors,
            "cpu_us_per_request": round(store[2].microseconds_per("target", store[1].requests), 1),
        },
        "summary": summary,
    }  # fmt: skip
    raw.write_text(json.dumps(report, indent=2) + "\n")
    drawn = chart(runs, raw.with_suffix(".png"), host)

    log("")
    for line in table([level.result for levels in runs.values() for level in levels]):
        log(line)
    for target, sizes in rss.items():
        log(f"peak RSS ({target}): {', '.join(f'{mb:.0f}' for mb in sizes)} MB per process")
    for line in notes(results_of(runs), cj_stats):
        log(line)
    log(f"raw results: {raw}, chart: {drawn}")
    log(summary)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("rates bench: interrupted; the processes it started are stopped", file=sys.stderr)
        sys.exit(130)
