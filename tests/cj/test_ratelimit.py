"""The shared limiter spaces calls at 1/QPS and serves checkout before orders before polling."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from app.cj.errors import CJThrottled
from app.cj.models import Priority
from app.cj.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter

# One slot every 0.625 s: the three callers below queue within it even on a loaded host.
QPS = Decimal(2)


@pytest.fixture(params=["local", "redis"])
async def limiter(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[RateLimiter]:
    if request.param == "local":
        yield LocalRateLimiter(QPS)
        return
    redis = Redis.from_url(redis_url)
    yield RedisRateLimiter(redis, QPS, namespace="test:ratelimit")
    await redis.aclose()


async def test_priorities_and_spacing(limiter: RateLimiter) -> None:
    deadline = time.monotonic() + 5
    await limiter.acquire(Priority.orders, deadline)  # takes the current slot
    order: list[str] = []
    granted: list[float] = []

    async def take(name: str, priority: Priority, delay: float) -> None:
        await asyncio.sleep(delay)
        await limiter.acquire(priority, deadline)
        order.append(name)
        granted.append(time.monotonic())

    await asyncio.gather(
        take("polling", Priority.polling, 0.0),
        take("orders", Priority.orders, 0.01),
        take("checkout", Priority.checkout, 0.02),
    )
    assert order == ["checkout", "orders", "polling"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(granted)]
    assert all(gap >= 0.5 for gap in gaps), gaps


async def test_no_slot_before_the_deadline_is_throttled(limiter: RateLimiter) -> None:
    await limiter.acquire(Priority.orders, time.monotonic() + 5)
    with pytest.raises(CJThrottled):
        await limiter.acquire(Priority.checkout, time.monotonic() + 0.02)


@pytest.fixture(params=["local", "redis"])
async def slow_limiter(
    request: pytest.FixtureRequest, redis_url: str
) -> AsyncIterator[RateLimiter]:
    """One slot every 1.25 s, so a queue stays put while it is measured."""
    if request.param == "local":
        yield LocalRateLimiter(Decimal(1))
        return
    redis = Redis.from_url(redis_url)
    yield RedisRateLimiter(redis, Decimal(1), namespace="test:ratelimit:slow")
    await redis.aclose()


async def test_fail_fast_refuses_to_queue_for_a_slot_that_comes_too_late(
    slow_limiter: RateLimiter,
) -> None:
    limiter = slow_limiter
    await limiter.acquire(Priority.checkout, time.monotonic() + 5)  # the next slot: 1.25 s away
    with pytest.raises(CJThrottled):
        await limiter.acquire(Priority.checkout, time.monotonic() + 0.5, fail_fast=True)

    pollers = [
        asyncio.create_task(limiter.acquire(Priority.polling, time.monotonic() + 10))
        for _ in range(2)
    ]
    try:
        async with asyncio.timeout(5):  # until both pollers are queued
            while not limiter.refuses_at_once(time.monotonic() + 2, Priority.polling):
                await asyncio.sleep(0.01)
        # Two pollers ahead: a poller's slot is 3 intervals away, past its 2 s.
        with pytest.raises(CJThrottled):
            await limiter.acquire(Priority.polling, time.monotonic() + 2, fail_fast=True)
        # A checkout goes before them: its slot (about 1 s away) comes in time.
        await limiter.acquire(Priority.checkout, time.monotonic() + 2, fail_fast=True)
        assert not any(poller.done() for poller in pollers)
    finally:
        for poller in pollers:
            poller.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)


async def test_a_refusal_redis_gave_is_repeated_without_asking_and_only_while_true(
    redis_url: str,
) -> None:
    """What one process learnt from Redis refuses its next fail-fast callers at once, never a
    caller Redis would let in; another process, which learnt nothing, asks Redis."""
    redis = Redis.from_url(redis_url)
    here = RedisRateLimiter(redis, Decimal(1), namespace="test:ratelimit:learn")
    elsewhere = RedisRateLimiter(redis, Decimal(1), namespace="test:ratelimit:learn")
    try:
        await here.acquire(Priority.orders, time.monotonic() + 5)  # next slot: 1.25 s away
        assert here.refuses_at_once(time.monotonic() + 0.5)
        assert not here.refuses_at_once(time.monotonic() + 1.5)
        assert not elsewhere.refuses_at_once(time.monotonic() + 0.5)
        with pytest.raises(CJThrottled):
            await elsewhere.acquire(Priority.checkout, time.monotonic() + 0.5, fail_fast=True)
        assert elsewhere.refuses_at_once(time.monotonic() + 0.5)

        # A checkout queues for that slot: the next checkout's comes one interval later.
        waiting = asyncio.create_task(
            here.acquire(Priority.checkout, time.monotonic() + 3, fail_fast=True)
        )
        await asyncio.sleep(0.1)
        assert here.refuses_at_once(time.monotonic() + 2)
        assert not here.refuses_at_once(time.monotonic() + 2.5)
        await waiting
        # Redis agrees: the slot after the one just taken is 1.25 s away.
        await elsewhere.acquire(Priority.checkout, time.monotonic() + 1.5, fail_fast=True)
    finally:
        await redis.aclose()
