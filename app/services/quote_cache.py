"""Freight quotes kept between requests: in Redis (shared by every process) or in this one.

One entry holds every logistic CJ offered for one cart on one route, so every option that
ships from that origin is priced from it. An entry is fresh for RATES_TTL and kept, as a
fallback, until RATES_STALE_TTL. A Redis failure is a cache miss, never a failed checkout.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import structlog
from cachetools import TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.cj.models import FreightQuote

log = structlog.get_logger(__name__)

KEY_PREFIX = "rates:quotes:"
LOCAL_ENTRIES = 10_000


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

    @property
    def digest(self) -> str:
        canonical = json.dumps(
            [self.origin, self.destination, self.zip, self.lines], separators=(",", ":")
        )
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


class RedisQuoteStore:
    def __init__(self, redis: Redis, stale_ttl: timedelta) -> None:
        self._redis = redis
        self._ttl = stale_ttl

    async def get(self, key: FreightKey) -> QuoteSet | None:
        try:
            raw = await self._redis.get(KEY_PREFIX + key.digest)
        except RedisError as exc:
            log.warning("rates_cache_read_failed", error=type(exc).__name__)
            return None
        return QuoteSet.loads(raw) if raw is not None else None

    async def put(self, key: FreightKey, quotes: QuoteSet) -> None:
        age = datetime.now(UTC) - quotes.fetched_at
        seconds = int((self._ttl - age).total_seconds())
        if seconds <= 0:
            return
        try:
            await self._redis.set(KEY_PREFIX + key.digest, quotes.dumps(), ex=seconds)
        except RedisError as exc:
            log.warning("rates_cache_write_failed", error=type(exc).__name__)


def create_quote_store(redis: Redis | None, stale_ttl: timedelta) -> QuoteStore:
    return RedisQuoteStore(redis, stale_ttl) if redis is not None else LocalQuoteStore(stale_ttl)
