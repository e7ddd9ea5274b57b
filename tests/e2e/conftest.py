"""End-to-end fixtures: a real cjsim server process and real CJ-client processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.fulfillments import client_on_sim, fulfillment_settings
from tests.e2e.support import TOKEN_ENCRYPTION_KEY, SimServer, Workers


@pytest.fixture
def service_env(
    cjsim_server: SimServer,
    clean_db: AsyncEngine,
    database_url: str,
    redis_url: str,
    api_key: str,
) -> dict[str, str]:
    """The service's settings, as environment variables (what a real process reads)."""
    return {
        "ENVIRONMENT": "test",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TOKEN_ENCRYPTION_KEY": TOKEN_ENCRYPTION_KEY,
        "CJ_API_BASE_URL": cjsim_server.api_url,
        "CJ_API_KEY": api_key,
        "CJ_QPS": "1",
        "CJ_OPEN_ID": "",
        "CJ_TIMEOUT_SECONDS": "10",
    }


@pytest.fixture
async def settings_overrides() -> dict[str, Any]:
    """Settings a test class changes for its app (override the fixture in the class)."""
    return {}


@pytest.fixture
async def client(
    sim: httpx.AsyncClient, service_env: dict[str, str], settings_overrides: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this process against the cjsim server (at the fulfillment tests' QPS),
    with the fulfillment tests' settings and the module's or class's `settings_overrides`."""
    async for c in client_on_sim(sim, fulfillment_settings(service_env, **settings_overrides)):
        yield c


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
