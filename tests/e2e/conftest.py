"""End-to-end fixtures: a real cjsim server process and real CJ-client processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.support import SimServer, Workers, new_api_key

TOKEN_ENCRYPTION_KEY = "e2e-encryption-passphrase"


@pytest.fixture(scope="module")
def cjsim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    server = SimServer(tmp_path_factory.mktemp("cjsim") / "cjsim.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


@pytest.fixture
async def sim(cjsim_server: SimServer) -> AsyncIterator[httpx.AsyncClient]:
    """The control API of a freshly reset simulator."""
    async with httpx.AsyncClient(base_url=cjsim_server.base_url, timeout=10) as client:
        response = await client.post("/_sim/reset")
        assert response.json() == {"reset": True}
        yield client


@pytest.fixture
def api_key() -> str:
    return new_api_key()


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
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
