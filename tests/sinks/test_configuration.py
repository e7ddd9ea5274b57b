from __future__ import annotations

from typing import Any

import pytest

from app.container import build_sinks
from app.core.config import Settings


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({}, []),
        ({"notify_url": "https://store.example/hooks", "notify_secret": "s"}, ["webhook"]),
        (
            {"medusa_url": "http://localhost:9000", "medusa_secret_key": "sk_1"},
            ["medusa", "medusa_data"],
        ),
        (
            {
                "medusa_url": "http://localhost:9000",
                "medusa_secret_key": "sk_1",
                "medusa_fulfillment_data": False,
            },
            ["medusa"],
        ),
        (
            {
                "notify_url": "https://store.example/hooks",
                "notify_secret": "s",
                "medusa_url": "http://localhost:9000",
                "medusa_secret_key": "sk_1",
            },
            ["medusa", "medusa_data", "webhook"],
        ),
    ],
)
async def test_only_configured_sinks_are_built(values: dict[str, str], names: list[str]) -> None:
    sinks = build_sinks(settings(**values))
    try:
        assert [sink.name for sink in sinks] == names
    finally:
        for sink in sinks:
            await sink.aclose()
