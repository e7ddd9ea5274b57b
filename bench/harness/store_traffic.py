"""A realistic store's checkouts, open loop: a few rate requests a second, as Medusa sends.

A checkout session is one cart (Zipf popularity over the stress workload's carts) going to
one destination; each time its shipping step is shown (`views`, `view_gap` seconds apart)
Medusa asks once per calculated option of the destination's country, all at once. Sessions
start at random (Poisson) so that requests average `rate` a second. Requests leave on
schedule whatever the answers do; each answer is kept with the time it was due, so the
share of CJ-priced answers after the cache's first minute can be read.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import aiohttp

from harness.loadgen import classify
from harness.workload import CURRENCIES, DESTINATIONS, Cart, Variant, make_carts

CJ_PRICED = ("live", "cache")


@dataclass(frozen=True)
class StoreMix:
    seed: int = 20261202
    carts: int = 300
    zipf_exponent: float = 1.0
    rate: float = 2.0  # requests per second, on average
    views: int = 4  # shipping-step views per checkout session
    view_gap: tuple[float, float] = (5.0, 20.0)  # seconds between two views
    warmup_seconds: float = 60.0  # answers before this are not counted as "after"


@dataclass(frozen=True)
class Due:
    at: float  # seconds from the start
    body: bytes


def plan_store(
    variants: Sequence[Variant], serving: Mapping[str, Sequence[str]], mix: StoreMix, seconds: float
) -> list[Due]:
    rng = random.Random(mix.seed)
    carts = make_carts(variants, mix.carts, rng)
    cum_weights = list(accumulate(1 / rank**mix.zipf_exponent for rank in range(1, len(carts) + 1)))
    destinations = [d for d in DESTINATIONS if d[0] in serving]
    per_view = sum(len(serving[d[0]]) for d in destinations) / len(destinations)
    sessions_per_second = mix.rate / (mix.views * per_view)
    due: list[Due] = []
    start = 0.0
    while True:
        start += rng.expovariate(sessions_per_second)
        if start >= seconds:
            break
        cart = rng.choices(carts, cum_weights=cum_weights)[0]
        destination = rng.choice(destinations)
        currency = rng.choices([c for c, _ in CURRENCIES], weights=[w for _, w in CURRENCIES])[0]
        at = start
        for _ in range(mix.views):
            if at < seconds:
                due += [
                    Due(at, _body(cart, destination, currency, o)) for o in serving[destination[0]]
                ]
            at += rng.uniform(*mix.view_gap)
    return sorted(due, key=lambda d: d.at)


def _body(
    cart: Cart, destination: tuple[str, str, str, str], currency: str, option_id: str
) -> bytes:
    country, province, city, zip_code = destination
    body: dict[str, Any] = {
        "option_id": option_id,
        "destination": {
            "country_code": country,
            "province": province,
            "city": city,
            "zip": zip_code,
        },
        "items": [{"sku": ref, "quantity": quantity} for ref, quantity in cart],
        "currency": currency,
    }
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class StoreResult:
    seconds: float
    warmup_seconds: float
    answers: list[tuple[float, str]] = field(default_factory=list, repr=False)  # (due, kind)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    # Per answer, for diagnosis: due (s), X-Request-Id sent, kind, latency (ms), body.
    details: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def requests(self) -> int:
        return len(self.answers)

    def after_warmup(self) -> Counter[str]:
        return Counter(kind for at, kind in self.answers if at >= self.warmup_seconds)

    @property
    def cj_priced_after_warmup_pct(self) -> float:
        after = self.after_warmup()
        total = sum(after.values())
        return 100 * sum(after[k] for k in CJ_PRICED) / total if total else 0.0

    @property
    def errors(self) -> int:
        return sum(1 for _, kind in self.answers if kind.startswith("error"))

    def latency_ms(self, quantile: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


async def run_store(
    url: str, api_key: str, plan: Sequence[Due], mix: StoreMix, *, timeout_s: float = 10.0
) -> StoreResult:
    """Send every planned request at its time (latency counted from then); wait for all."""
    result = StoreResult(seconds=0.0, warmup_seconds=mix.warmup_seconds)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(
        headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
    ) as session:

        async def send(due: Due, at: float, request_id: str) -> None:
            try:
                async with session.post(
                    url, data=due.body, headers={"X-Request-Id": request_id}
                ) as response:
                    kind = classify(response.status, await response.read())
            except TimeoutError:
                kind = "error timeout"
            except aiohttp.ClientError as exc:
                kind = f"error {type(exc).__name__}"
            latency_ms = 1000 * (time.perf_counter() - at)
            result.latencies_ms.append(latency_ms)
            result.answers.append((due.at, kind))
            result.details.append(
                {
                    "due": round(due.at, 3),
                    "request_id": request_id,
                    "kind": kind,
                    "latency_ms": round(latency_ms, 1),
                    "body": json.loads(due.body),
                }
            )

        started = time.perf_counter()
        tasks = []
        for n, due in enumerate(plan):
            at = started + due.at
            await asyncio.sleep(max(at - time.perf_counter(), 0))
            tasks.append(asyncio.create_task(send(due, at, f"store-{n:05d}")))
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - started
    return result
