"""The embedded first-run default (SQLite, no Redis) migrates and serves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command

from app.main import create_app
from tests.fixtures.app import API_KEY, make_settings, start
from tests.fixtures.database import alembic_config


async def test_sqlite_default_migrates_and_serves(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'first-run.db'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    settings = make_settings(database_url=url, redis_url="")
    async for client in start(create_app(settings)):
        ready = await client.get("/health/ready")
        options = await client.get(
            "/v1/fulfillment-options", headers={"Authorization": f"Bearer {API_KEY}"}
        )
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": "ok",
        "redis": "not_configured",
        "cj_breaker": "closed",
        "cj_token": "missing",
    }
    assert options.status_code == 200
