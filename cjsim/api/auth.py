"""Authentication: getAccessToken (apiKey only, once per 5 minutes), refresh, logout."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from cjsim import envelope
from cjsim.api.common import PREFIX, body_json, req_str, sim
from cjsim.envelope import CJError
from cjsim.gate import request_token
from cjsim.state import TOKEN_RATE_WINDOW_S, TokenPair

router = APIRouter(prefix=f"{PREFIX}/authentication")

API_KEY_RE = re.compile(r"CJ\d+@api@\S+")
_CJ_TZ = timezone(timedelta(hours=8))


def cj_iso(ts: float) -> str:
    """CJ's token dates: ISO-8601 with a +08:00 offset, e.g. 2026-12-08T09:16:33+08:00."""
    return datetime.fromtimestamp(ts, tz=_CJ_TZ).isoformat(timespec="seconds")


def _token_data(pair: TokenPair) -> dict[str, Any]:
    return {
        "accessToken": pair.access_token,
        "accessTokenExpiryDate": cj_iso(pair.access_expires),
        "refreshToken": pair.refresh_token,
        "refreshTokenExpiryDate": cj_iso(pair.refresh_expires),
        "createDate": cj_iso(pair.created),
    }


@router.post("/getAccessToken")
async def get_access_token(request: Request) -> Response:
    state = sim(request)
    body = await body_json(request)
    api_key = req_str(body, "apiKey")
    if not API_KEY_RE.fullmatch(api_key):
        raise CJError(envelope.API_KEY_WRONG)
    async with state.lock:
        acc = state.account(api_key)
        now = state.now()
        if acc.last_token_at is not None and now - acc.last_token_at < TOKEN_RATE_WINDOW_S:
            return envelope.token_rate_limited()
        acc.last_token_at = now
        pair = state.issue_tokens(acc)
    return envelope.ok({"openId": acc.open_id, **_token_data(pair)})


@router.post("/refreshAccessToken")
async def refresh_access_token(request: Request) -> Response:
    state = sim(request)
    body = await body_json(request)
    token = req_str(body, "refreshToken")
    async with state.lock:
        old = state.valid_refresh(token)
        if old is None:
            raise CJError(envelope.REFRESH_TOKEN_INVALID)
        state.revoke(old)
        pair = state.issue_tokens(state.account(old.api_key))
    return envelope.ok(_token_data(pair))


@router.post("/logout")
async def logout(request: Request) -> Response:
    state = sim(request)
    state.revoke(request_token(request.scope))
    return envelope.ok(True)
