"""Which missing quotes checkouts asked for, and how often: the cache warmer's to-do list.

At 1 request/s, CJ cannot price every cart a busy store sees, so a checkout whose quote is
missing and whose turn at CJ would come too late is answered from the fallback at once,
and its cart is counted here. The warmer then spends the free CJ requests on the most
wanted carts first. In Redis (a sorted set by count, shared by every process) or in this
process; bounded either way. The Redis list is written in batches, at most every
FLUSH_SECONDS: a checkout answered from the fallback makes no round trip to Redis for it.
Each process also knows, without asking, about how long the list is (`backlog`: as Redis
last said on a write or a read, plus what it holds back), so that checkouts stop spending
CJ's requests on their own carts while more-asked-for ones wait.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.services.quote_cache import FreightKey

log = structlog.get_logger(__name__)

WANTED_KEY = "rates:wanted"
CARTS_KEY = "rates:wanted:carts"
MAX_WANTED = 5_000
# A cart nobody asked about for an hour is forgotten.
FORGET_SECONDS = 3600
# How long a want may wait in this process before it reaches the shared list.
FLUSH_SECONDS = 0.05


def _dumps(key: FreightKey) -> str:
    return json.dumps([key.origin, key.destination, key.zip, key.lines])


def _loads(raw: str | bytes) -> FreightKey:
    origin, destination, zip_code, lines = json.loads(raw)
    return FreightKey(origin, destination, zip_code, tuple((v, int(q)) for v, q in lines))


class QuoteDemand(Protocol):
    async def want(self, key: FreightKey, times: int = 1) -> None:
        """Count `times` more asks for `key` (a cart put back keeps the count it had)."""

    async def most_wanted(self) -> tuple[FreightKey, int] | None:
        """Take the most asked-for cart off the list, with its count (None when empty)."""

    def backlog(self) -> int:
        """About how many carts are on the list, as this process knows without asking."""

    async def aclose(self) -> None:
        """Write what is still held back."""


class LocalQuoteDemand:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._carts: dict[str, FreightKey] = {}

    async def want(self, key: FreightKey, times: int = 1) -> None:
        digest = key.digest
        self._counts[digest] += times
        self._carts[digest] = key
        if len(self._counts) > MAX_WANTED:
            least, _ = self._counts.most_common()[-1]
            del self._counts[least]
            del self._carts[least]

    async def most_wanted(self) -> tuple[FreightKey, int] | None:
        if not self._counts:
            return None
        digest, count = self._counts.most_common(1)[0]
        del self._counts[digest]
        return self._carts.pop(digest), count

    def backlog(self) -> int:
        return len(self._counts)

    async def aclose(self) -> None:
        return None


class RedisQuoteDemand:
    """Wants are counted here and added to the shared list together, FLUSH_SECONDS after
    the first of them (and before this process takes from the list)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pending: Counter[str] = Counter()
        self._carts: dict[str, FreightKey] = {}
        self._flush: asyncio.Task[None] | None = None
        self._listed = 0  # carts on the shared list when Redis last said

    def backlog(self) -> int:
        return self._listed + len(self._pending)

    async def want(self, key: FreightKey, times: int = 1) -> None:
        digest = key.digest
        self._pending[digest] += times
        self._carts[digest] = key
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        self._flush = None
        await self._write()

    async def _write(self) -> None:
        if not self._pending:
            return
        pending, carts = self._pending, self._carts
        self._pending, self._carts = Counter(), {}
        pipe = self._redis.pipeline(transaction=False)
        for digest, count in pending.items():
            pipe.zincrby(WANTED_KEY, count, digest)
        pipe.hset(CARTS_KEY, mapping={digest: _dumps(key) for digest, key in carts.items()})
        pipe.zremrangebyrank(WANTED_KEY, 0, -(MAX_WANTED + 1))
        pipe.expire(WANTED_KEY, FORGET_SECONDS)
        pipe.expire(CARTS_KEY, FORGET_SECONDS)
        pipe.zcard(WANTED_KEY)
        try:
            self._listed = int((await pipe.execute())[-1])
        except RedisError as exc:
            log.warning("rates_demand_write_failed", error=type(exc).__name__)

    async def aclose(self) -> None:
        if self._flush is not None:
            await self._flush
        await self._write()

    async def most_wanted(self) -> tuple[FreightKey, int] | None:
        await self._write()
        try:
            while True:
                pipe = self._redis.pipeline(transaction=True)
                pipe.zpopmax(WANTED_KEY)
                pipe.zcard(WANTED_KEY)
                popped, self._listed = await pipe.execute()
                if not popped:
                    return None
                digest, count = popped[0]
                raw = await self._redis.hget(CARTS_KEY, digest)
                await self._redis.hdel(CARTS_KEY, digest)
                if raw is not None:  # trimmed carts leave no body behind: skip them
                    return _loads(raw), int(count)
        except RedisError as exc:
            log.warning("rates_demand_read_failed", error=type(exc).__name__)
            return None


def create_quote_demand(redis: Redis | None) -> QuoteDemand:
    return RedisQuoteDemand(redis) if redis is not None else LocalQuoteDemand()
