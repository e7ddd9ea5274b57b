"""Freight quotes kept between requests: in Redis (shared by every process) or in this one.

One entry holds every logistic CJ offered for one cart on one route, so every option that
ships from that origin is priced from it. An entry is fresh for RATES_TTL and kept, as a
fallback, until RATES_STALE_TTL. A Redis failure is a cache miss, never a failed checkout.

With Redis, each process also mirrors the entries it has read (and the carts it found
missing), so a checkout costs no round trip to Redis: every write is published with its
entry on a channel each process listens to, which keeps the mirrors coherent. While a
process is not subscribed (starting, or its subscription broke), it reads Redis every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Protocol

import structlog
from cachetools import TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.cj.models import FreightQuote

log = structlog.get_logger(__name__)

KEY_PREFIX = "rates:quotes:"
# Every write of an entry is published here as "<digest> <entry>".
CHANNEL = "rates:quotes:written"
LOCAL_ENTRIES = 10_000
# While it holds fewer entries, the mirror has room for all that Redis holds.
COMPLETE_UP_TO = LOCAL_ENTRIES // 2
LOAD_BATCH = 500
RESUBSCRIBE_SECONDS = 1.0
LISTEN_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class FreightKey:
    """What a quote depends on: origin, destination (country and zip), vids and quantities."""

    origin: str
    destination: str
    zip: str | None
    lines: tuple[tuple[str, int], ...]

    @classmethod
    def of(
        cls, origin: str, destination: str, zip_code: str | None, lines: Sequence[tuple[str, int]]
    ) -> FreightKey:
        merged: dict[str, int] = {}
        for vid, quantity in lines:
            merged[vid] = merged.get(vid, 0) + quantity
        zip_part = "".join((zip_code or "").split()).upper() or None
        return cls(origin.upper(), destination.upper(), zip_part, tuple(sorted(merged.items())))

    @cached_property
    def digest(self) -> str:
        return _digest(self.origin, self.destination, self.zip, self.lines)


@functools.lru_cache(maxsize=LOCAL_ENTRIES)
def _digest(
    origin: str, destination: str, zip_code: str | None, lines: tuple[tuple[str, int], ...]
) -> str:
    """A key's digest, computed once per cart: checkout asks the same carts again at every
    refresh, and the JSON and SHA-256 of a key cost more than hashing its fields."""
    canonical = json.dumps([origin, destination, zip_code, lines], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class QuotedLogistic:
    name: str
    price: Decimal  # USD, CJ's price rule already applied (FreightQuote.price)
    eta_days: tuple[int, int] | None


@dataclass(frozen=True)
class QuoteSet:
    logistics: tuple[QuotedLogistic, ...]
    fetched_at: datetime

    @classmethod
    def from_cj(cls, quotes: Sequence[FreightQuote], fetched_at: datetime) -> QuoteSet:
        return cls(
            tuple(QuotedLogistic(q.logistic_name, q.price, q.eta_days) for q in quotes),
            fetched_at,
        )

    def find(self, name: str) -> QuotedLogistic | None:
        """The named logistic when CJ offered it at a real price (CJ's 0 is a placeholder)."""
        for logistic in self.logistics:
            if logistic.name == name and logistic.price > 0:
                return logistic
        return None

    def is_fresh(self, ttl: timedelta, now: datetime) -> bool:
        return now - self.fetched_at < ttl

    def dumps(self) -> str:
        return json.dumps(
            {
                "fetched_at": self.fetched_at.isoformat(),
                "logistics": [
                    {"name": q.name, "price": str(q.price), "eta": q.eta_days}
                    for q in self.logistics
                ],
            }
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> QuoteSet:
        data = json.loads(raw)
        return cls(
            tuple(
                QuotedLogistic(
                    q["name"], Decimal(q["price"]), tuple(q["eta"]) if q["eta"] else None
                )
                for q in data["logistics"]
            ),
            datetime.fromisoformat(data["fetched_at"]),
        )


class QuoteStore(Protocol):
    async def get(self, key: FreightKey) -> QuoteSet | None: ...

    async def put(self, key: FreightKey, quotes: QuoteSet) -> None: ...

    def start(self) -> None:
        """Begin what runs in the background (the Redis store's mirror)."""

    async def aclose(self) -> None: ...


class LocalQuoteStore:
    """This process only (no Redis): bounded, entries dropped after the stale TTL."""

    def __init__(self, stale_ttl: timedelta) -> None:
        self._entries: TTLCache[str, QuoteSet] = TTLCache(
            maxsize=LOCAL_ENTRIES, ttl=stale_ttl.total_seconds()
        )

    async def get(self, key: FreightKey) -> QuoteSet | None:
        return self._entries.get(key.digest)

    async def put(self, key: FreightKey, quotes: QuoteSet) -> None:
        self._entries[key.digest] = quotes

    def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisQuoteStore:
    """The entries in Redis, mirrored in this process while it listens to CHANNEL.

    The mirror holds what Redis holds for each digest it has seen, None for one Redis does
    not have. Once subscribed it loads every entry Redis holds: while they all fit, the
    mirror is complete and a digest it does not hold is one Redis does not have either (a
    cart never seen costs no round trip). Otherwise a read it cannot answer goes to Redis,
    and its answer is kept unless a write was published meanwhile (that one is newer).
    Every published write replaces the entry, in the order Redis applied them; this
    process's own writes come back the same way.
    Entries are only ever written through `put`: one deleted in Redis by hand stays in the
    mirrors of running processes until it expires.
    """

    def __init__(self, redis: Redis, stale_ttl: timedelta) -> None:
        self._redis = redis
        self._ttl = stale_ttl
        self._mirror: TTLCache[str, QuoteSet | None] = TTLCache(
            maxsize=LOCAL_ENTRIES, ttl=stale_ttl.total_seconds()
        )
        self._mirroring = False
        self._complete = False  # every entry Redis holds is in the mirror
        # Written by this process, its publication not back yet: read from Redis meanwhile.
        self._unsure: set[str] = set()
        # Changes whenever mirroring starts or stops: a Redis read that began under
        # another generation may predate the subscription, and is not kept.
        self._generation = 0
        self._listener: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def mirroring(self) -> bool:
        return self._mirroring

    async def get(self, key: FreightKey) -> QuoteSet | None:
        digest = key.digest
        sure = digest not in self._unsure
        if self._mirroring and sure and (self._complete or digest in self._mirror):
            entry = self._mirror.get(digest)
            if entry is not None and datetime.now(UTC) - entry.fetched_at >= self._ttl:
                return None  # Redis has let it expire by now
            return entry
        generation = self._generation
        try:
            raw = await self._redis.get(KEY_PREFIX + digest)
        except RedisError as exc:
            log.warning("rates_cache_read_failed", error=type(exc).__name__)
            return None
        entry = QuoteSet.loads(raw) if raw is not None else None
        if (
            self._mirroring
            and self._generation == generation
            and digest not in self._mirror
            and digest not in self._unsure
        ):
            self._keep(digest, entry)
        return entry

    async def put(self, key: FreightKey, quotes: QuoteSet) -> None:
        age = datetime.now(UTC) - quotes.fetched_at
        seconds = int((self._ttl - age).total_seconds())
        if seconds <= 0:
            return
        digest = key.digest
        payload = quotes.dumps()
        # Until the published write comes back, this process reads the entry from Redis
        # (a write another process published just before may still be on its way).
        self._unsure.add(digest)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(KEY_PREFIX + digest, payload, ex=seconds)
        pipe.publish(CHANNEL, f"{digest} {payload}")
        try:
            await pipe.execute()
        except RedisError as exc:
            log.warning("rates_cache_write_failed", error=type(exc).__name__)

    def start(self) -> None:
        if self._listener is None:
            self._stopping.clear()
            self._listener = asyncio.get_running_loop().create_task(
                self._listen_forever(), name="rates-quote-mirror"
            )

    async def aclose(self) -> None:
        if self._listener is not None:
            self._stopping.set()
            done, _ = await asyncio.wait({self._listener}, timeout=LISTEN_POLL_SECONDS * 3)
            if not done:
                self._listener.cancel()
            self._listener = None

    def _mirror_from_now(self, on: bool) -> None:
        self._mirror.clear()
        self._generation += 1
        self._mirroring = on
        self._complete = False
        self._unsure.clear()  # a write before the subscription is in what `_load` reads

    def _keep(self, digest: str, entry: QuoteSet | None) -> None:
        if len(self._mirror) >= COMPLETE_UP_TO:
            self._complete = False  # the cache may drop entries from here on
        self._mirror[digest] = entry

    def _written(self, data: bytes) -> None:
        digest, _, payload = data.partition(b" ")
        self._keep(digest.decode(), QuoteSet.loads(payload))
        self._unsure.discard(digest.decode())

    async def _load(self) -> None:
        """Every entry Redis holds now (the writes published meanwhile are applied after,
        in order, so the newest wins); complete when they fit."""
        keys = [key async for key in self._redis.scan_iter(match=KEY_PREFIX + "*", count=1000)]
        for start in range(0, len(keys), LOAD_BATCH):
            batch = keys[start : start + LOAD_BATCH]
            for key, raw in zip(batch, await self._redis.mget(batch), strict=True):
                if raw is not None:
                    self._keep(key.decode().removeprefix(KEY_PREFIX), QuoteSet.loads(raw))
        self._complete = len(self._mirror) < COMPLETE_UP_TO

    async def _listen_forever(self) -> None:
        # Stopped by an event, not by cancellation (a Redis read cancelled midway can hang).
        while not self._stopping.is_set():
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    while not self._stopping.is_set():
                        message = await pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                        if message is None:
                            continue
                        if message["type"] == "subscribe":
                            self._mirror_from_now(True)
                            await self._load()
                        elif message["type"] == "message":
                            self._written(message["data"])
            except (RedisError, OSError, ValueError, KeyError) as exc:
                log.warning("rates_cache_mirror_lost", error=type(exc).__name__)
            finally:
                self._mirror_from_now(False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), RESUBSCRIBE_SECONDS)


def create_quote_store(redis: Redis | None, stale_ttl: timedelta) -> QuoteStore:
    return RedisQuoteStore(redis, stale_ttl) if redis is not None else LocalQuoteStore(stale_ttl)
