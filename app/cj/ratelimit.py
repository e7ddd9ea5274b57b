"""One rate limiter for every process on the CJ account, with priorities.

CJ counts requests per account, across all our processes, and answers 1600200 when a
second request arrives within the same 1/QPS interval. So calls are spaced: each takes
the next free slot (`next_free`), and waiters are served strictly by priority, then
arrival. With Redis, the slot clock and the queue live in Redis (one Lua script, Redis's
own clock, so process clocks do not matter); without it, in this process.

A fail-fast caller that Redis would refuse is refused in this process instead, from what
Redis last said: when the next slot is free and how many callers wait before one of a
priority. The next free slot only ever moves later, and each caller waiting ahead takes
one more interval (a waiter is queued only when its slot comes before its deadline), so
a deadline before that is known to be too early without asking again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from decimal import Decimal
from typing import Protocol

from redis.asyncio import Redis

from app.cj.errors import CJThrottled
from app.cj.models import Priority

# A margin over CJ's interval, so that the usual jitter between taking a slot and the call
# reaching CJ (scheduling on a busy host, the network) does not bring two calls inside one
# window. 10 % was seen to be too little on a loaded 2-core machine. No margin covers every
# stall of an overloaded host (at load 7, 25 % let one call in 50 through early), and each
# point of margin is a point of CJ's QPS lost on every call. A call CJ refuses anyway
# (1600200, nothing done) is asked again on a later slot (CJClient retries idempotent
# calls; a createOrder stays pending for the worker), so a stall costs a request, not a call.
SAFETY_FACTOR = Decimal("1.25")
_POLL_SECONDS = 0.025


def interval_seconds(qps: Decimal) -> float:
    return float(SAFETY_FACTOR / qps)


class RateLimiter(Protocol):
    async def acquire(
        self, priority: Priority, deadline: float, *, fail_fast: bool = False
    ) -> None:
        """Wait for a slot; raise CJThrottled if none comes before `deadline` (monotonic).

        With `fail_fast`, raise at once, without joining the queue, when the callers
        already ahead make a slot before `deadline` impossible: a caller that cannot use
        a late answer (a checkout) does not wait for nothing, nor delay the others."""

    def refuses_at_once(self, deadline: float, priority: Priority = Priority.checkout) -> bool:
        """True when this process already knows that no slot comes before `deadline` for a
        new caller of `priority` (so a fail-fast `acquire` would raise CJThrottled); False
        when it cannot tell."""


class LocalRateLimiter:
    """Per-process limiter: correct for one process (the embedded first run)."""

    def __init__(self, qps: Decimal) -> None:
        self._interval = interval_seconds(qps)
        self._next_free = 0.0
        self._waiters: dict[tuple[int, int], asyncio.Event] = {}
        self._sequence = itertools.count()

    def _expected_wait(self, priority: Priority) -> float:
        """The next free slot, plus one interval per caller ahead of a new one."""
        ahead = sum(1 for level, _ in self._waiters if level <= int(priority))
        return max(self._next_free - time.monotonic(), 0.0) + ahead * self._interval

    def refuses_at_once(self, deadline: float, priority: Priority = Priority.checkout) -> bool:
        return self._expected_wait(priority) > deadline - time.monotonic()

    async def acquire(
        self, priority: Priority, deadline: float, *, fail_fast: bool = False
    ) -> None:
        if fail_fast and self._expected_wait(priority) > deadline - time.monotonic():
            raise CJThrottled("CJ's request queue is longer than the deadline")
        ticket = (int(priority), next(self._sequence))
        wakeup = asyncio.Event()
        self._waiters[ticket] = wakeup
        try:
            while True:
                now = time.monotonic()
                if min(self._waiters) == ticket and now >= self._next_free:
                    self._next_free = now + self._interval
                    return
                wait = max(self._next_free - now, 0.0) if min(self._waiters) == ticket else None
                remaining = deadline - now
                if remaining <= 0:
                    raise CJThrottled("no CJ request slot before the deadline")
                wakeup.clear()
                timeout = remaining if wait is None else min(wait, remaining)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=max(timeout, 0.001))
        finally:
            del self._waiters[ticket]
            if self._waiters:
                self._waiters[min(self._waiters)].set()


# KEYS: next-free key, waiter zset, waiter-deadline hash
# ARGV: member, interval in microseconds
# Returns {granted (0/1), microseconds to wait (hint)}
_ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
while true do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not head then break end
  local expires = tonumber(redis.call('HGET', KEYS[3], head) or '0')
  if expires >= now then break end
  redis.call('ZREM', KEYS[2], head)
  redis.call('HDEL', KEYS[3], head)
end
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
if head ~= ARGV[1] then
  return {0, math.max(next_free - now, 0)}
end
if now < next_free then
  return {0, next_free - now}
end
local interval = tonumber(ARGV[2])
redis.call('SET', KEYS[1], now + interval, 'PX', math.ceil(interval / 1000) + 1000)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return {1, 0}
"""

# KEYS: next-free key, waiter zset, waiter-deadline hash
# ARGV: member, priority, microseconds left, interval in microseconds, fail fast (0/1)
# Returns {1 when queued, 0 when fail-fast found the queue too long (nothing queued),
#          microseconds until the next free slot, callers waiting ahead of this priority}
_ENQUEUE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local priority = tonumber(ARGV[2])
local free_in = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') - now, 0)
local ahead = redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. ((priority + 1) * 1e16))
if ARGV[5] == '1' then
  if free_in + ahead * tonumber(ARGV[4]) > tonumber(ARGV[3]) then
    return {0, free_in, ahead}
  end
end
redis.call('ZADD', KEYS[2], priority * 1e16 + now, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], now + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[2], 600000)
redis.call('PEXPIRE', KEYS[3], 600000)
return {1, free_in, ahead}
"""


class RedisRateLimiter:
    """The limiter shared by every process through Redis."""

    def __init__(self, redis: Redis, qps: Decimal, namespace: str = "cj:ratelimit") -> None:
        self._redis = redis
        self._interval_us = int(interval_seconds(qps) * 1_000_000)
        self._keys = [f"{namespace}:next_free", f"{namespace}:queue", f"{namespace}:deadlines"]
        self._acquire = redis.register_script(_ACQUIRE_SCRIPT)
        self._enqueue = redis.register_script(_ENQUEUE_SCRIPT)
        # Per priority, the earliest slot (monotonic) a new caller could get, from Redis's
        # last answers, counted from before each question was sent (so never too late).
        self._no_slot_before = [0.0] * len(Priority)

    def refuses_at_once(self, deadline: float, priority: Priority = Priority.checkout) -> bool:
        return deadline < self._no_slot_before[priority]

    def _learn(
        self, asked_at: float, free_in_us: int, waiting: int = 0, from_level: int = 0
    ) -> None:
        """No slot before `free_in_us` for anyone, and `waiting` intervals later for a
        caller at `from_level` or after."""
        free_at = asked_at + free_in_us / 1_000_000
        for level in range(len(self._no_slot_before)):
            earliest = free_at + (
                waiting * self._interval_us / 1_000_000 if level >= from_level else 0
            )
            self._no_slot_before[level] = max(self._no_slot_before[level], earliest)

    async def acquire(
        self, priority: Priority, deadline: float, *, fail_fast: bool = False
    ) -> None:
        asked_at = time.monotonic()
        remaining = deadline - asked_at
        if remaining <= 0:
            raise CJThrottled("no CJ request slot before the deadline")
        if fail_fast and self.refuses_at_once(deadline, priority):
            raise CJThrottled("CJ's request queue is longer than the deadline")
        member = uuid.uuid4().hex
        # A waiter that dies leaves its entry; the deadline lets the script drop it.
        queued, free_in_us, ahead = await self._enqueue(
            keys=self._keys,
            args=[
                member,
                int(priority),
                int(remaining * 1_000_000),
                self._interval_us,
                1 if fail_fast else 0,
            ],
        )
        # Queued, this caller is one more ahead of the next one of its priority.
        self._learn(asked_at, int(free_in_us), int(ahead) + int(queued), int(priority))
        if int(queued) == 0:
            raise CJThrottled("CJ's request queue is longer than the deadline")
        try:
            while True:
                asked_at = time.monotonic()
                granted, wait_us = await self._acquire(
                    keys=self._keys, args=[member, self._interval_us]
                )
                if int(granted) == 1:
                    self._learn(asked_at, self._interval_us)
                    return
                self._learn(asked_at, int(wait_us))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CJThrottled("no CJ request slot before the deadline")
                await asyncio.sleep(min(max(int(wait_us) / 1_000_000, _POLL_SECONDS), remaining))
        except BaseException:
            await asyncio.shield(self._leave(member))
            raise

    async def _leave(self, member: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(self._keys[1], member)
        pipe.hdel(self._keys[2], member)
        await pipe.execute()


def create_rate_limiter(redis: Redis | None, qps: Decimal) -> RateLimiter:
    return RedisRateLimiter(redis, qps) if redis is not None else LocalRateLimiter(qps)
