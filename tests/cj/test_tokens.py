"""Tokens: bought once, stored encrypted, refreshed on an auth error, the 5-minute rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import respx
from redis.asyncio import Redis
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cj.client import CJClient
from app.cj.models import AccessToken
from app.cj.tokens import TokenUnavailable
from app.core.config import LogFormat
from app.core.logging import configure_logging
from app.db.models import CJToken
from tests.cj.conftest import (
    ACCESS,
    API_KEY,
    OPEN_ID,
    REFRESH,
    REFRESHED,
    BuildClient,
    fail,
    ok,
    token_data,
)


async def test_expiry_dates_keep_their_plus_eight_offset() -> None:
    token = AccessToken.model_validate(token_data())
    assert token.access_token_expires_at.astimezone(UTC) == datetime(
        2099, 1, 15, 1, 16, 33, tzinfo=UTC
    )


async def test_bought_with_the_api_key_alone_once_and_stored_encrypted(
    client: CJClient, cj_api: respx.MockRouter, clean_db: AsyncEngine
) -> None:
    cj_api.get("/setting/get").respond(json=ok({}))
    await client.get_account_settings()
    await client.get_account_settings()

    auth = cj_api.routes["auth"]
    assert auth.call_count == 1
    assert json.loads(auth.calls.last.request.content) == {"apiKey": API_KEY}
    async with clean_db.connect() as conn:
        row = (await conn.execute(select(CJToken))).one()
    assert row.access_token_encrypted
    assert ACCESS not in row.access_token_encrypted
    assert REFRESH not in row.refresh_token_encrypted
    assert row.open_id == str(OPEN_ID)
    assert await client.tokens.open_id() == str(OPEN_ID)


async def test_open_id_stored_by_another_process_is_read_once(
    build_client: BuildClient, cj_api: respx.MockRouter, clean_db: AsyncEngine
) -> None:
    cj_api.get("/setting/get").respond(json=ok({}))
    await build_client().get_account_settings()  # another process buys and stores the token
    webhooks = build_client()  # a web process that has not called CJ yet
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "cj_tokens" in statement:
            reads.append(statement)

    event.listen(clean_db.sync_engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert await webhooks.tokens.open_id() == str(OPEN_ID)
    finally:
        event.remove(clean_db.sync_engine, "before_cursor_execute", count)
    assert len(reads) == 1


async def test_open_id_not_stored_yet_is_read_again_until_it_is(
    build_client: BuildClient, cj_api: respx.MockRouter, clean_db: AsyncEngine
) -> None:
    """A token stored without an openId (the field is optional in CJ's answer) is not
    kept as the answer: once another process stores the openId, webhooks verify."""
    cj_api.routes["auth"].respond(json=ok({**token_data(), "openId": None}))
    cj_api.get("/setting/get").respond(json=ok({}))
    await build_client().get_account_settings()
    webhooks = build_client()
    assert await webhooks.tokens.open_id() is None
    async with clean_db.begin() as conn:
        await conn.execute(update(CJToken).values(open_id=str(OPEN_ID)))
    assert await webhooks.tokens.open_id() == str(OPEN_ID)


async def test_another_process_uses_the_stored_token(
    build_client: BuildClient, cj_api: respx.MockRouter
) -> None:
    cj_api.get("/setting/get").respond(json=ok({}))
    await build_client().get_account_settings()
    await build_client().get_account_settings()
    assert cj_api.routes["auth"].call_count == 1


async def test_an_auth_error_refreshes_once_and_retries_once(
    client: CJClient, cj_api: respx.MockRouter
) -> None:
    refresh = cj_api.post("/authentication/refreshAccessToken").respond(
        json=ok(token_data(REFRESHED))
    )
    settings = cj_api.get("/setting/get").mock(
        side_effect=lambda request: respx.MockResponse(
            json=ok({"setting": {"qpsLimit": 1}})
            if request.headers["CJ-Access-Token"] == REFRESHED
            else fail(1600001, "Invalid token")
        )
    )
    account = await client.get_account_settings()
    assert account.qps_limit == 1
    assert refresh.call_count == 1
    assert json.loads(refresh.calls.last.request.content) == {"refreshToken": REFRESH}
    assert settings.call_count == 2


async def test_getaccesstoken_at_most_once_per_five_minutes(
    client: CJClient, cj_api: respx.MockRouter
) -> None:
    cj_api.post("/authentication/refreshAccessToken").respond(json=fail(1600003, "expired"))
    cj_api.get("/setting/get").respond(json=fail(1600001, "Invalid token"))
    with pytest.raises(TokenUnavailable, match="5 minutes"):
        await client.get_account_settings()
    with pytest.raises(TokenUnavailable):
        await client.get_account_settings()
    assert cj_api.routes["auth"].call_count == 1


async def test_logs_never_carry_the_token_or_the_api_key(
    client: CJClient, cj_api: respx.MockRouter, capfd: pytest.CaptureFixture[str]
) -> None:
    """Read from the real output, through the real processors: capture_logs would miss
    loggers that an earlier test's configuration already cached."""
    cj_api.post("/authentication/refreshAccessToken").respond(json=ok(token_data(REFRESHED)))
    cj_api.get("/setting/get").mock(
        side_effect=[respx.MockResponse(json=fail(1600001)), respx.MockResponse(json=ok({}))]
    )
    configure_logging(LogFormat.json)
    capfd.readouterr()
    await client.get_account_settings()
    text = capfd.readouterr().err
    events = [json.loads(line)["event"] for line in text.splitlines()]
    assert "cj_call" in events, "the calls are logged"
    for secret in (ACCESS, REFRESHED, REFRESH, API_KEY):
        assert secret not in text


def _refused_everywhere(cj_api: respx.MockRouter) -> tuple[respx.Route, respx.Route]:
    """CJ forgot us (a reset account): the access and the refresh token are both refused."""
    refresh = cj_api.post("/authentication/refreshAccessToken").respond(
        json=fail(1600003, "Refresh token is failure")
    )
    settings = cj_api.get("/setting/get").respond(json=fail(1600001, "Authentication failed"))
    return refresh, settings


async def test_a_refused_token_is_not_called_valid_and_not_sent_again(
    build_client: BuildClient, cj_api: respx.MockRouter
) -> None:
    client = build_client()
    settings = cj_api.get("/setting/get").mock(
        side_effect=[
            respx.MockResponse(json=ok({})),
            respx.MockResponse(json=fail(1600001, "Authentication failed")),
        ]
    )
    await client.get_account_settings()
    assert (await client.tokens.health()).status == "valid"
    refresh = cj_api.post("/authentication/refreshAccessToken").respond(
        json=fail(1600003, "Refresh token is failure")
    )

    with pytest.raises(TokenUnavailable, match="allowed again at"):
        await client.get_account_settings()

    # The refresh token was tried first; the 5-minute rule stopped a new purchase.
    assert refresh.call_count == 1
    assert cj_api.routes["auth"].call_count == 1
    health = await client.tokens.health()
    assert health.status == "waiting"
    assert health.retry_at is not None
    assert timedelta(minutes=4) < health.retry_at - datetime.now(UTC) <= timedelta(minutes=5)
    # Until then nothing is sent to CJ on a token it refused, by this process or another.
    calls = settings.call_count
    for other in (client, build_client()):
        with pytest.raises(TokenUnavailable):
            await other.get_account_settings()
    assert refresh.call_count == 1
    assert settings.call_count == calls


async def test_a_refused_token_with_a_working_refresh_token_recovers_at_once(
    client: CJClient, cj_api: respx.MockRouter
) -> None:
    cj_api.get("/setting/get").mock(
        side_effect=lambda request: respx.MockResponse(
            json=ok({})
            if request.headers["CJ-Access-Token"] == REFRESHED
            else fail(1600001, "Authentication failed")
        )
    )
    cj_api.post("/authentication/refreshAccessToken").respond(json=ok(token_data(REFRESHED)))
    await client.get_account_settings()  # bought ACCESS, refused, refreshed, retried
    assert cj_api.routes["auth"].call_count == 1
    assert (await client.tokens.health()).status == "valid"


async def test_a_new_token_is_bought_as_soon_as_the_five_minutes_are_over(
    client: CJClient, cj_api: respx.MockRouter, clean_db: AsyncEngine
) -> None:
    cj_api.post("/authentication/refreshAccessToken").respond(json=fail(1600003))
    refused_once = [respx.MockResponse(json=fail(1600001))]
    cj_api.get("/setting/get").mock(
        side_effect=lambda request: (
            refused_once.pop() if refused_once else respx.MockResponse(json=ok({}))
        )
    )
    cj_api.routes["auth"].mock(
        side_effect=[
            respx.MockResponse(json=ok(token_data())),
            respx.MockResponse(json=ok(token_data(REFRESHED))),
        ]
    )
    with pytest.raises(TokenUnavailable):
        await client.get_account_settings()  # bought, refused, refresh refused: waiting
    assert (await client.tokens.health()).status == "waiting"

    async with clean_db.begin() as conn:  # five minutes and a second later
        await conn.execute(
            update(CJToken).values(last_auth_call_at=datetime.now(UTC) - timedelta(seconds=301))
        )
    assert (await client.tokens.health()).status == "expired"
    await client.get_account_settings()
    assert cj_api.routes["auth"].call_count == 2
    assert (await client.tokens.health()).status == "valid"


async def test_with_redis_the_wait_is_read_from_the_shared_claim(
    build_client: BuildClient, cj_api: respx.MockRouter, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        client = build_client(redis=redis)
        _refused_everywhere(cj_api)
        with pytest.raises(TokenUnavailable):
            await client.get_account_settings()
        health = await client.tokens.health()
        assert health.status == "waiting"
        assert health.retry_at is not None
        await redis.delete(f"cj:auth:get_access_token:{client.tokens.account}")
        assert (await client.tokens.health()).status == "expired"
    finally:
        await redis.aclose()
