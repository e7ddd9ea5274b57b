"""The ops surface: open on a laptop, behind OPS_API_KEYS in production; health stays open."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Environment
from app.main import create_app
from tests.fixtures.app import API_KEY, make_settings, start

SERVICE_KEY = "service-key-0123456789abcdef0123456789"
OPS_KEY = "ops-key-0123456789abcdef0123456789abcd"
OPS_ROUTES = ["/metrics", "/openapi.json", "/docs", "/redoc"]


def production_settings(clean_db: AsyncEngine, redis_url: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "environment": Environment.production,
        "database_url": clean_db.url.render_as_string(False),
        "redis_url": redis_url,
        "service_api_keys": SERVICE_KEY,
        "token_encryption_key": Fernet.generate_key().decode(),
        "cj_api_base_url": "https://developers.cjdropshipping.com/api2.0/v1",
        "cj_webhook_path_token": "path-token-0123456789abcdef0123",
    }
    values.update(overrides)
    return make_settings(**values)


async def answers(settings: Any, headers: dict[str, str] | None = None) -> dict[str, int]:
    async for client in start(create_app(settings)):
        return {
            path: (await client.get(path, headers=headers or {})).status_code
            for path in [*OPS_ROUTES, "/health/live", "/health/ready"]
        }
    raise AssertionError("the app did not start")


async def test_open_outside_production(client: httpx.AsyncClient) -> None:
    for path in OPS_ROUTES:
        assert (await client.get(path)).status_code == 200, path


async def test_the_served_document_is_the_apps(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.json()["info"]["title"] == "cj-fulfillment"
    assert "/v1/rates" in response.json()["paths"]


@pytest.mark.parametrize(
    ("ops_keys", "headers"),
    [
        ("", {}),
        ("", {"Authorization": f"Bearer {SERVICE_KEY}"}),
        (OPS_KEY, {}),
        (OPS_KEY, {"Authorization": f"Bearer {SERVICE_KEY}"}),
        (OPS_KEY, {"Authorization": "Bearer wrong-ops-key-0123456789abcdef0123"}),
    ],
)
async def test_closed_in_production_without_the_ops_key(
    clean_db: AsyncEngine, redis_url: str, ops_keys: str, headers: dict[str, str]
) -> None:
    settings = production_settings(clean_db, redis_url, ops_api_keys=ops_keys)
    assert await answers(settings, headers) == {
        "/metrics": 401,
        "/openapi.json": 401,
        "/docs": 401,
        "/redoc": 401,
        "/health/live": 200,
        "/health/ready": 200,
    }


async def test_the_ops_key_opens_them_in_production(clean_db: AsyncEngine, redis_url: str) -> None:
    settings = production_settings(clean_db, redis_url, ops_api_keys=OPS_KEY)
    assert set((await answers(settings, {"Authorization": f"Bearer {OPS_KEY}"})).values()) == {200}


async def test_a_refusal_is_a_problem(clean_db: AsyncEngine, redis_url: str) -> None:
    settings = production_settings(clean_db, redis_url)
    async for client in start(create_app(settings)):
        response = await client.get("/metrics")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


async def test_ops_keys_outside_production_are_required_too(
    clean_db: AsyncEngine, redis_url: str
) -> None:
    settings = make_settings(
        database_url=clean_db.url.render_as_string(False), redis_url=redis_url, ops_api_keys=OPS_KEY
    )
    assert (await answers(settings))["/metrics"] == 401
    assert (await answers(settings, {"Authorization": f"Bearer {API_KEY}"}))["/metrics"] == 401
    assert (await answers(settings, {"Authorization": f"Bearer {OPS_KEY}"}))["/metrics"] == 200
