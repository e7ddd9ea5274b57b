"""A CJ client against respx (CJ faked at the HTTP boundary), with the real token store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
import respx
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.cj.breaker import CJBreaker
from app.cj.client import CJClient
from app.cj.ratelimit import create_rate_limiter
from app.cj.transport import CJTransport
from app.core.encryption import TokenCipher
from app.db.token_store import DatabaseTokenStore

BASE = "https://cj.test/api2.0/v1"
API_KEY = "CJ4242424@api@0123456789abcdef0123456789abcdef"
ACCESS = "access-3f9a1c0b7d2e4f6a8b9c0d1e2f3a4b5c"
REFRESHED = "access-refreshed-9d8c7b6a5f4e3d2c1b0a"
REFRESH = "refresh-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
OPEN_ID = 1234567890123


def ok(data: Any = None) -> dict[str, Any]:
    return {"code": 200, "result": True, "message": "Success", "data": data, "requestId": "r-1"}


def fail(code: int, message: str = "error") -> dict[str, Any]:
    return {"code": code, "result": False, "message": message, "data": None, "requestId": "r-2"}


def token_data(access: str = ACCESS) -> dict[str, Any]:
    return {
        "openId": OPEN_ID,
        "accessToken": access,
        "accessTokenExpiryDate": "2099-01-15T09:16:33+08:00",
        "refreshToken": REFRESH,
        "refreshTokenExpiryDate": "2099-06-15T09:16:33+08:00",
        "createDate": "2026-11-24T09:16:33+08:00",
    }


@pytest.fixture
def cj_api() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/authentication/getAccessToken", name="auth").respond(json=ok(token_data()))
        yield router


BuildClient = Callable[..., CJClient]


@pytest.fixture
async def build_client(clean_db: AsyncEngine) -> AsyncIterator[BuildClient]:
    sessionmaker = async_sessionmaker(clean_db, expire_on_commit=False)
    clients: list[CJClient] = []

    def build(
        *,
        redis: Redis | None = None,
        breaker: CJBreaker | None = None,
        timeout: float = 0.5,
        qps: Decimal = Decimal(1000),
    ) -> CJClient:
        transport = CJTransport(
            base_url=BASE,
            timeout_seconds=timeout,
            limiter=create_rate_limiter(redis, qps),
            breaker=breaker or CJBreaker(redis),
            redis=redis,
        )
        client = CJClient(
            transport,
            api_key=SecretStr(API_KEY),
            token_store=DatabaseTokenStore(sessionmaker, TokenCipher(SecretStr("test-key"))),
            redis=redis,
            default_timeout_seconds=timeout,
        )
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(build_client: BuildClient) -> CJClient:
    return build_client()
