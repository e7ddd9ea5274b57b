"""uvicorn's app keeps its startup heap out of the garbage collector's full collections
(app.core.heap); an app a test builds leaves the collector as it is."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi import FastAPI

import app.main
from app.core.config import Settings, get_settings
from app.main import create_app

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
    for name, value in {
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SERVICE_API_KEYS": "test-key-current",
        "TOKEN_ENCRYPTION_KEY": "test-encryption-passphrase",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(Path(__file__).parent)  # no .env of the developer's
    get_settings.cache_clear()
    try:
        served = app.main.__getattr__("app")  # what `uvicorn app.main:app` imports
    finally:
        get_settings.cache_clear()
        vars(app.main).pop("app", None)  # the next access builds a new one
    assert gc.get_freeze_count() == 0

    serving, stopped = await frozen_while_serving(served)

    assert serving > STARTED_PROCESS_OBJECTS
    assert stopped == 0


async def test_an_app_built_for_a_test_freezes_nothing(settings: Settings) -> None:
    assert await frozen_while_serving(create_app(settings)) == (0, 0)
