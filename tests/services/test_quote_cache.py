"""The quote cache's mirror in each process: no Redis round trip for what it has seen, and
every write, by any process, reaching every mirror."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from app.services.quote_cache import (
    KEY_PREFIX,
    FreightKey,
    QuotedLogistic,
    QuoteSet,
    RedisQuoteStore,
)

STALE = timedelta(hours=24)
KEY = FreightKey.of("US", "US", "10001", [("vid-tee", 2)])


def quotes(price: str, minutes_ago: int = 0) -> QuoteSet:
    fetched = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return QuoteSet((QuotedLogistic("USPS+", Decimal(price), (5, 7)),), fetched)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    """Until `check` holds: Redis's pub/sub takes milliseconds, a loaded host far longer."""
    try:
        async with asyncio.timeout(seconds):
            while not await check():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"not within {seconds:g} s") from None


async def until(check: Callable[[], bool]) -> None:
    async def awaited() -> bool:
        return check()

    await eventually(awaited)


@pytest.fixture
async def stores(redis_url: str) -> AsyncIterator[tuple[Redis, list[RedisQuoteStore]]]:
    """Two processes' stores (one Redis client each, as two processes have), mirroring."""
    clients = [Redis.from_url(redis_url, client_name=f"mirror-test-{n}") for n in range(2)]
    started = [RedisQuoteStore(client, STALE) for client in clients]
    for store in started:
        store.start()
    for store in started:
        await until(lambda store=store: store.mirroring)
    yield clients[0], started
    for store in started:
        await store.aclose()
    for client in clients:
        await client.aclose()


async def test_a_mirror_starts_with_what_redis_holds_and_then_needs_redis_for_nothing(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    earlier = quotes("4.20")
    await redis.set(KEY_PREFIX + KEY.digest, earlier.dumps())
    store = RedisQuoteStore(redis, STALE)
    store.start()
    try:
        await until(lambda: store.mirroring)
        other = FreightKey.of("US", "US", "10001", [("vid-mug", 1)])
        await redis.set(KEY_PREFIX + other.digest, quotes("3.00").dumps())  # unpublished
        assert await store.get(KEY) == earlier  # loaded when it subscribed
        assert await store.get(other) is None  # complete: what it has not seen is missing
    finally:
        await store.aclose()
        await redis.aclose()


async def test_what_a_mirror_has_seen_is_answered_without_redis(
    stores: tuple[Redis, list[RedisQuoteStore]],
) -> None:
    redis, (store, _) = stores
    assert await store.get(KEY) is None  # asked Redis once: now known to be missing
    # Written behind the store's back (no publication): the mirror does not ask again.
    await redis.set(KEY_PREFIX + KEY.digest, quotes("5.00").dumps())
    assert await store.get(KEY) is None


async def test_a_write_in_one_process_reaches_the_other_mirror(
    stores: tuple[Redis, list[RedisQuoteStore]],
) -> None:
    _, (here, elsewhere) = stores
    assert await elsewhere.get(KEY) is None
    first = quotes("6.10", minutes_ago=20)
    await here.put(KEY, first)
    await eventually(lambda: _equals(elsewhere, first))
    newer = quotes("6.40")
    await elsewhere.put(KEY, newer)
    await eventually(lambda: _equals(here, newer))
    assert await elsewhere.get(KEY) == newer


async def test_a_lost_subscription_reads_redis_until_it_is_back(
    stores: tuple[Redis, list[RedisQuoteStore]],
) -> None:
    redis, (here, elsewhere) = stores
    assert await elsewhere.get(KEY) is None
    await kill_subscription(redis, "mirror-test-1")
    await until(lambda: not elsewhere.mirroring)
    written = quotes("7.00")
    await here.put(KEY, written)  # published while nobody in `elsewhere` listens
    assert await elsewhere.get(KEY) == written  # from Redis, not the old mirror
    await until(lambda: elsewhere.mirroring)
    assert await elsewhere.get(KEY) == written


async def _equals(store: RedisQuoteStore, expected: QuoteSet) -> bool:
    return await store.get(KEY) == expected


async def kill_subscription(redis: Redis, name: str) -> None:
    clients = await redis.client_list(_type="pubsub")
    ids = [c["id"] for c in clients if c.get("name") == name]
    assert ids, clients
    for client_id in ids:
        await redis.client_kill_filter(_id=client_id)


def test_a_key_digest_is_the_one_redis_already_holds_entries_under() -> None:
    """The digest names the Redis entry: computed once per cart now, it must stay the
    SHA-256 of the canonical JSON, or running processes would miss each other's entries."""
    key = FreightKey.of("cn", "us", " 100 01 ", [("v2", 1), ("v1", 2), ("v2", 1)])
    assert key.digest == "5150b9a93388683cba16bedaab15f13fa374d129014c26286d146ede9990e0c6"
    again = FreightKey.of("CN", "US", "10001", [("v1", 2), ("v2", 2)])
    assert again.digest == key.digest
    assert FreightKey.of("CN", "US", "10001", [("v1", 2)]).digest != key.digest
