"""An open-loop HTTP load generator: requests leave on a fixed schedule, answered or not.

Unlike the closed-loop generator (loadgen.py), a slow answer does not slow the offered
rate down, as with a sender like CJ that pushes whatever happens at its own pace. Request
`i` is due at `start + i / rate`; its latency is counted from that moment, so time it
spent waiting in the generator (a late start, no free connection) counts too. At most
`max_in_flight` requests are outstanding: one due beyond that is not sent, and says so.
Requests go over keep-alive connections of harness/http1.py's lean client (aiohttp's
cost as much CPU per request as the intake it measures, on the same two cores).

The process's own CPU time is measured, so a run whose generator saturated its core says so.
Its own pauses are kept out: what was built before the run (the posts, every level's plan)
is frozen out of the garbage collector's reach, since a full collection scanning it held
every send for 160-200 ms (gc.callbacks in a 1000/s level), counted as the service's p99.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from harness.http1 import Http1Client, UnframedAnswer

OK = "200"
NOT_SENT = "not sent (generator at its in-flight cap)"


@dataclass(frozen=True)
class Post:
    body: bytes
    headers: Mapping[str, str]


@dataclass
class OpenLoopResult:
    rate: float
    planned: int
    # From the first due time to the last answer, or to the end of the schedule (`planned /
    # rate`) when that is later: so all answered at once reads as exactly the offered rate.
    seconds: float = 0.0
    outcomes: list[str] = field(default_factory=list, repr=False)  # one per post, in order
    latencies_ms: list[float] = field(default_factory=list, repr=False)  # sent posts only
    client_cpu_pct: float = 0.0

    @property
    def answers(self) -> Counter[str]:
        return Counter(self.outcomes)

    @property
    def sent(self) -> int:
        return self.planned - self.answers[NOT_SENT]

    @property
    def ok(self) -> int:
        return self.answers[OK]

    @property
    def failed(self) -> int:
        """Sent and not answered 200: another status, a timeout, a broken connection."""
        return self.sent - self.ok

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def slower_than(self, limit_ms: float) -> int:
        return sum(latency > limit_ms for latency in self.latencies_ms)

    def latency_ms(self, quantile: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


async def run_open_loop(
    url: str,
    posts: Sequence[Post],
    rate: float,
    *,
    max_in_flight: int = 1000,
    timeout_s: float = 10.0,
) -> OpenLoopResult:
    """POST every one of `posts` to `url`, `rate` per second, and wait for every answer."""
    result = OpenLoopResult(rate=rate, planned=len(posts), outcomes=[NOT_SENT] * len(posts))
    gc.collect()
    gc.freeze()
    client = Http1Client(url)
    try:
        in_flight = 0

        async def send(index: int, post: Post, due: float) -> None:
            nonlocal in_flight
            try:
                async with asyncio.timeout(timeout_s):
                    status = await client.post(post.body, post.headers)
                outcome = OK if status == 200 else f"http {status}"
            except TimeoutError:
                outcome = "timeout"
            except (OSError, UnframedAnswer) as exc:
                outcome = type(exc).__name__
            finally:
                in_flight -= 1
            result.latencies_ms.append(1000 * (time.perf_counter() - due))
            result.outcomes[index] = outcome

        started = time.perf_counter()
        cpu_started = time.process_time()
        tasks = []
        for index, post in enumerate(posts):
            due = started + index / rate
            delay = due - time.perf_counter()
            # Behind schedule, it still yields, so the requests already due get sent.
            await asyncio.sleep(max(delay, 0))
            if in_flight >= max_in_flight:
                continue
            in_flight += 1
            tasks.append(asyncio.create_task(send(index, post, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        result.seconds = max(elapsed, len(posts) / rate)
        result.client_cpu_pct = 100 * (time.process_time() - cpu_started) / elapsed
    finally:
        client.close()
        gc.unfreeze()
    return result
