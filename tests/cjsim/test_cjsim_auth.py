"""Tokens: getAccessToken (apiKey, once per 5 minutes), refresh, logout, expiry, settings."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx

from tests.cjsim.support import API, API_KEY, CJ, FakeClock, login

TOKEN_URL = f"{API}/authentication/getAccessToken"
REFRESH_URL = f"{API}/authentication/refreshAccessToken"
ISO_CN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


async def test_get_access_token_shape(sim_client: httpx.AsyncClient) -> None:
    response = await sim_client.post(TOKEN_URL, json={"apiKey": API_KEY})
    body = response.json()
    assert response.status_code == 200
    assert body["code"] == 200
    assert body["result"] is True
    assert re.fullmatch(r"[0-9a-f-]{36}", body["requestId"])
    data = body["data"]
    assert isinstance(data["openId"], int)
    assert re.fullmatch(r"[0-9a-f]{32}", data["accessToken"])
    assert re.fullmatch(r"[0-9a-f]{32}", data["refreshToken"])
    for key in ("accessTokenExpiryDate", "refreshTokenExpiryDate", "createDate"):
        assert ISO_CN.match(data[key]), data[key]
    created = datetime.fromisoformat(data["createDate"])
    assert datetime.fromisoformat(data["accessTokenExpiryDate"]) - created == timedelta(days=15)
    assert datetime.fromisoformat(data["refreshTokenExpiryDate"]) - created == timedelta(days=180)


async def test_open_id_is_stable_per_api_key(
    sim_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    first = await login(sim_client)
    clock.advance(301)
    second = await login(sim_client)
    other = await login(sim_client, "CJ99@api@other")
    assert first["openId"] == second["openId"] != other["openId"]
    assert first["accessToken"] != second["accessToken"]


async def test_get_access_token_once_per_five_minutes(
    sim_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await login(sim_client)
    clock.advance(299)
    limited = (await sim_client.post(TOKEN_URL, json={"apiKey": API_KEY})).json()
    assert limited["code"] == 1600200
    assert "result" not in limited
    assert "5 minutes" in limited["message"]
    # Another account is not affected, and the first one may ask again after 300 s.
    await login(sim_client, "CJ42@api@second-account")
    clock.advance(2)
    await login(sim_client)


async def test_bad_api_key_and_missing_body(sim_client: httpx.AsyncClient) -> None:
    for key in ("nonsense", "CJabc@api@x", "CJ123@api@", "CJ123@apix"):
        body = (await sim_client.post(TOKEN_URL, json={"apiKey": key})).json()
        assert body["code"] == 1600005, key
        assert body["result"] is False
        assert body["data"] is None
    empty = (await sim_client.post(TOKEN_URL, json={})).json()
    assert empty["code"] == 16900403
    assert empty["message"] == "apiKey can not be empty"
    not_json = (await sim_client.post(TOKEN_URL, content=b"{nope")).json()
    assert not_json["code"] == 16900205


async def test_missing_and_unknown_token(sim_client: httpx.AsyncClient) -> None:
    missing = (await sim_client.get(f"{API}/shopping/pay/getBalance")).json()
    assert missing["code"] == 1600002
    unknown = await sim_client.get(
        f"{API}/shopping/pay/getBalance", headers={"CJ-Access-Token": "0" * 32}
    )
    assert unknown.json()["code"] == 1600001
    assert unknown.json()["result"] is False


async def test_refresh_replaces_both_tokens(cj: CJ) -> None:
    old = cj.login
    body = (await cj.client.post(REFRESH_URL, json={"refreshToken": old["refreshToken"]})).json()
    assert body["code"] == 200
    fresh = body["data"]
    assert "openId" not in fresh
    assert fresh["accessToken"] != old["accessToken"]
    assert fresh["refreshToken"] != old["refreshToken"]
    # The old access token is gone, the new one works, the old refresh token is spent.
    assert (await cj.get("/shopping/pay/getBalance"))["code"] == 1600001
    cj.token = fresh["accessToken"]
    assert (await cj.get("/shopping/pay/getBalance"))["code"] == 200
    again = await cj.client.post(REFRESH_URL, json={"refreshToken": old["refreshToken"]})
    assert again.json()["code"] == 1600003


async def test_logout_invalidates_both_tokens(cj: CJ) -> None:
    body = await cj.post("/authentication/logout", {})
    assert body["code"] == 200
    assert body["data"] is True
    assert (await cj.get("/shopping/pay/getBalance"))["code"] == 1600001
    refreshed = await cj.client.post(REFRESH_URL, json={"refreshToken": cj.login["refreshToken"]})
    assert refreshed.json()["code"] == 1600003


async def test_configurable_token_lifetime(cj: CJ, clock: FakeClock) -> None:
    await cj.client.post("/_sim/config", json={"token_ttl_seconds": 60})
    body = (
        await cj.client.post(REFRESH_URL, json={"refreshToken": cj.login["refreshToken"]})
    ).json()
    cj.token = body["data"]["accessToken"]
    created = datetime.fromisoformat(body["data"]["createDate"])
    expiry = datetime.fromisoformat(body["data"]["accessTokenExpiryDate"])
    assert expiry - created == timedelta(seconds=60)
    clock.advance(59)
    assert (await cj.get("/shopping/pay/getBalance"))["code"] == 200
    clock.advance(2)
    assert (await cj.get("/shopping/pay/getBalance"))["code"] == 1600001


async def test_settings_reflect_configuration(cj: CJ) -> None:
    await cj.client.post("/_sim/config", json={"qps": 4})
    body = await cj.get("/setting/get")
    data = body["data"]
    assert data["openId"] == cj.open_id
    assert data["setting"]["qpsLimit"] == 4
    assert isinstance(data["setting"]["quotaLimits"], list)
    assert data["isSandbox"] is False
    assert data["root"] == "GENERAL"
