"""The breaker opens on upstream failures only, fails fast while open, and closes again."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from app.cj.breaker import CJBreaker
from app.cj.errors import CJCircuitOpen, CJNotFound, CJUpstreamError
from tests.cj.conftest import BuildClient, fail, ok

DETAIL = "/shopping/order/getOrderDetail"


async def test_upstream_failures_open_it_and_it_fails_fast(
    build_client: BuildClient, cj_api: respx.MockRouter
) -> None:
    client = build_client(breaker=CJBreaker(fail_max=3, reset_timeout=0.3))
    route = cj_api.get(DETAIL).respond(503)
    with pytest.raises((CJUpstreamError, CJCircuitOpen)):
        await client.get_order_detail("1")
    with pytest.raises((CJUpstreamError, CJCircuitOpen)):
        await client.get_order_detail("1")
    assert client.breaker_state == "open"

    calls = route.call_count
    with pytest.raises(CJCircuitOpen):
        await client.get_order_detail("1")
    assert route.call_count == calls, "no request while the breaker is open"

    await asyncio.sleep(0.35)
    route.respond(json=ok({"orderId": "1", "orderStatus": "CREATED"}))
    detail = await client.get_order_detail("1")
    assert detail.order_id == "1"
    assert client.breaker_state == "closed"


async def test_timeouts_count(build_client: BuildClient, cj_api: respx.MockRouter) -> None:
    client = build_client(breaker=CJBreaker(fail_max=2, reset_timeout=30))
    cj_api.get(DETAIL).mock(side_effect=httpx.ConnectTimeout("down"))
    with pytest.raises(Exception):  # noqa: B017, PT011 - timeout or breaker open, either way
        await client.get_order_detail("1")
    assert client.breaker_state == "open"


async def test_business_errors_never_open_it(
    build_client: BuildClient, cj_api: respx.MockRouter
) -> None:
    client = build_client(breaker=CJBreaker(fail_max=2, reset_timeout=30))
    cj_api.get(DETAIL).respond(json=fail(1603100, "order not found"))
    for _ in range(5):
        with pytest.raises(CJNotFound):
            await client.get_order_detail("1")
    assert client.breaker_state == "closed"


async def test_state_is_shared_through_redis(redis_url: str) -> None:
    from redis.asyncio import Redis

    first_redis, second_redis = Redis.from_url(redis_url), Redis.from_url(redis_url)
    first = CJBreaker(first_redis, fail_max=1, reset_timeout=30)
    second = CJBreaker(second_redis, fail_max=1, reset_timeout=30)
    try:
        with pytest.raises(CJUpstreamError):
            async with first.guard():
                raise CJUpstreamError("CJ 502")
        assert first.state == "open"
        for _ in range(50):
            await second.sync_once()
            if second.state == "open":
                break
            await asyncio.sleep(0.02)
        assert second.state == "open"
        with pytest.raises(CJCircuitOpen):
            second.check()
    finally:
        await first.stop()
        await second.stop()
        await first_redis.aclose()
        await second_redis.aclose()
