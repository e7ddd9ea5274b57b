"""Tokens: bought once, stored encrypted, refreshed on an auth error, the 5-minute rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import respx
from sqlalchemy import select
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
