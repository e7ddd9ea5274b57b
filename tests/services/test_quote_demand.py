"""The warmer's list on a real Redis and in one process: the most asked-for cart first, a
cart put back keeps its count, and each process knows about how long the list is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.services.quote_cache import FreightKey
from app.services.quote_demand import LocalQuoteDemand, QuoteDemand, RedisQuoteDemand


def cart(n: int) -> FreightKey:
    return FreightKey.of("US", "US", "10001", [(f"vid-{n}", 1)])


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def _order_and_put_back(demand: QuoteDemand) -> None:
    await demand.want(cart(1))
    for _ in range(5):
        await demand.want(cart(2))
    assert demand.backlog() >= 2

    taken = await demand.most_wanted()
    assert taken == (cart(2), 5)
    # CJ had no request for it: put back with its count, it stays ahead of a cart asked
    # three times meanwhile.
    await demand.want(cart(2), 5)
    await demand.want(cart(1), 2)
    assert await demand.most_wanted() == (cart(2), 5)
    assert await demand.most_wanted() == (cart(1), 3)
    assert await demand.most_wanted() is None
    assert demand.backlog() == 0


async def test_most_wanted_first_and_a_cart_put_back_keeps_its_count_in_redis(
    redis: Redis,
) -> None:
    demand = RedisQuoteDemand(redis)
    await _order_and_put_back(demand)
    await demand.aclose()


async def test_most_wanted_first_and_a_cart_put_back_keeps_its_count_in_one_process() -> None:
    await _order_and_put_back(LocalQuoteDemand())


async def test_each_process_learns_the_shared_lists_length_without_asking(redis: Redis) -> None:
    here, elsewhere = RedisQuoteDemand(redis), RedisQuoteDemand(redis)
    for n in range(6):
        await here.want(cart(n))
    assert here.backlog() == 6  # held back, not yet in Redis
    await here.aclose()  # written
    assert here.backlog() == 6
    assert elsewhere.backlog() == 0  # has not heard from Redis yet

    taken = await elsewhere.most_wanted()  # the warmer's read says what is left
    assert taken is not None
    assert elsewhere.backlog() == 5
    await elsewhere.want(cart(99))
    await elsewhere.aclose()
    assert elsewhere.backlog() == 6
