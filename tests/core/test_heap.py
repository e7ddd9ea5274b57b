"""uvicorn's app keeps its startup heap out of the garbage collector's full collections
(app.core.heap); an app a test builds leaves the collector as it is."""

from __future__ import annotations

import gc

import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.fixtures.app import API_KEY, uvicorns_app

# A started web process tracks ~150,000 objects; the test process's own come on top.
STARTED_PROCESS_OBJECTS = 50_000


async def frozen_while_serving(application: FastAPI) -> tuple[int, int]:
    """The objects frozen while `application` runs, and once it has stopped."""
    async with application.router.lifespan_context(application):
        serving = gc.get_freeze_count()
    return serving, gc.get_freeze_count()


async def test_uvicorns_app_freezes_its_startup_heap_and_thaws_it_on_stop(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SERVICE_API_KEYS": API_KEY,
        "TOKEN_ENCRYPTION_KEY": "test-encryption-passphrase",
    }
    served = uvicorns_app(monkeypatch, env)
    assert gc.get_freeze_count() == 0

    serving, stopped = await frozen_while_serving(served)

    assert serving > STARTED_PROCESS_OBJECTS
    assert stopped == 0


async def test_an_app_built_for_a_test_freezes_nothing(settings: Settings) -> None:
    assert await frozen_while_serving(create_app(settings)) == (0, 0)
