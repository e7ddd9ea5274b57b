"""A closed-loop HTTP load generator: N clients, each sending its next request as soon as
the previous one is answered, over one shared keep-alive connection pool (aiohttp, which
costs a fraction of httpx's CPU per request on this kind of load).

The process's own CPU time is measured, so a run whose client saturated its core says so.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

PRICED_SOURCES = ("live", "cache", "stale")
SATURATED_CPU_PCT = 90.0


@dataclass
class LevelResult:
    target: str
    concurrency: int
    seconds: float
    requests: int
    answers: Counter[str] = field(default_factory=Counter)  # source, "mixed", "empty" or error
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    client_cpu_pct: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for kind, n in self.answers.items() if not kind.startswith("error"))

    @property
    def errors(self) -> int:
        return self.requests - self.ok

    @property
    def priced(self) -> int:
        return sum(self.answers[source] for source in PRICED_SOURCES)

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def client_saturated(self) -> bool:
        return self.client_cpu_pct >= SATURATED_CPU_PCT

    def pct(self, count: int) -> float:
        return 100 * count / self.requests if self.requests else 0.0

    def latency_ms(self, quantile: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        del data["latencies_ms"]
        data["answers"] = dict(self.answers)
        data |= {
            "ok_per_second": round(self.ok_per_second, 1),
            "errors": self.errors,
            "priced": self.priced,
            "priced_pct": round(self.pct(self.priced), 2),
            "p50_ms": round(self.latency_ms(0.50), 1),
            "p90_ms": round(self.latency_ms(0.90), 1),
            "p99_ms": round(self.latency_ms(0.99), 1),
            "max_ms": round(self.latency_ms(1.0), 1),
            "client_saturated": self.client_saturated,
        }
        return data


def classify(status: int, payload: bytes) -> str:
    """What one answer was: the source of its rates, or why it is an error."""
    if status != 200:
        return f"error http {status}"
    try:
        rates = json.loads(payload)["rates"]
        sources = {rate["source"] for rate in rates}
    except (ValueError, KeyError, TypeError):
        return "error bad body"
    if not sources:
        return "empty"
    return sources.pop() if len(sources) == 1 else "mixed"


class RequestStream:
    """The workload's bodies handed out in order, wrapping around; shared by the clients."""

    def __init__(self, bodies: Sequence[bytes]) -> None:
        self._bodies = bodies
        self._next = 0

    def take(self) -> bytes:
        body = self._bodies[self._next % len(self._bodies)]
        self._next += 1
        return body

    @property
    def taken(self) -> int:
        return self._next

    def since(self, taken: int) -> list[bytes]:
        """The bodies handed out since `taken` had been."""
        return [self._bodies[i % len(self._bodies)] for i in range(taken, self._next)]


async def run_level(
    *,
    target: str,
    url: str,
    api_key: str,
    stream: RequestStream,
    concurrency: int,
    seconds: float,
    max_requests: int,
    timeout_s: float = 10.0,
) -> LevelResult:
    """`concurrency` clients POST to `url` for `seconds` (or `max_requests` in all)."""
    result = LevelResult(target=target, concurrency=concurrency, seconds=0.0, requests=0)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    client_timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(
        connector=connector, timeout=client_timeout, headers=headers
    ) as session:
        started = time.perf_counter()
        cpu_started = time.process_time()
        stop_at = started + seconds

        async def client() -> None:
            while time.perf_counter() < stop_at and result.requests < max_requests:
                result.requests += 1
                body = stream.take()
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=body) as response:
                        answer = classify(response.status, await response.read())
                except TimeoutError:
                    answer = "error timeout"
                except aiohttp.ClientError as exc:
                    answer = f"error {type(exc).__name__}"
                result.latencies_ms.append(1000 * (time.perf_counter() - sent))
                result.answers[answer] += 1

        await asyncio.gather(*(client() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        result.client_cpu_pct = 100 * cpu / result.seconds
    return result
