"""The breaker opens on upstream failures only, fails fast while open, and closes again."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.cj.breaker import CJBreaker
from app.cj.errors import CJCircuitOpen, CJNotFound, CJUpstreamError
from app.container import build_cj_client
from app.core.config import Settings
from tests.cj.conftest import API_KEY, BASE, BuildClient, fail, ok

DETAIL = "/shopping/order/getOrderDetail"


async def test_upstream_failures_open_it_and_it_fails_fast(
    build_client: BuildClient, cj_api: respx.MockRouter
) -> None:
    # Open for 1 s: long enough that a loaded host still makes the calls below within it.
    client = build_client(breaker=CJBreaker(fail_max=3, reset_timeout=1))
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

    await asyncio.sleep(1.05)
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


async def test_the_deployments_settings_set_when_it_opens_and_for_how_long(
    clean_db: AsyncEngine, cj_api: respx.MockRouter
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cj_api_base_url=BASE,
        cj_api_key=SecretStr(API_KEY),
        cj_timeout_seconds=0.5,
        cj_qps=1000,
        cj_breaker_fail_max=1,
        cj_breaker_open_seconds=1,  # long enough for a loaded host to fail fast within it
    )
    client = build_cj_client(settings, async_sessionmaker(clean_db, expire_on_commit=False), None)
    try:
        route = cj_api.get(DETAIL).respond(503)
        # The client's own retry may already meet the open breaker.
        with pytest.raises((CJUpstreamError, CJCircuitOpen)):
            await client.get_order_detail("1", deadline=time.monotonic() + 0.3)
        assert route.call_count == 1  # fewer than the default CJ_BREAKER_FAIL_MAX (5)
        assert client.breaker_state == "open"  # one failure: CJ_BREAKER_FAIL_MAX=1
        calls = route.call_count
        with pytest.raises(CJCircuitOpen):
            await client.get_order_detail("1")
        assert route.call_count == calls
        await asyncio.sleep(1.05)  # CJ_BREAKER_OPEN_SECONDS=1, not the default 30
        route.respond(json=ok({"orderId": "1", "orderStatus": "CREATED"}))
        assert (await client.get_order_detail("1")).order_id == "1"
        assert client.breaker_state == "closed"
    finally:
        await client.aclose()
