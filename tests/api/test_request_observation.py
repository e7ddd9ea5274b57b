"""What the middleware adds to every request, cheaply: the request id (in each log line of
the request, only when one is logged), the labelled metrics and the access line."""

from __future__ import annotations

import json
import re

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.metrics import REGISTRY
from app.main import create_app
from tests.fixtures.app import API_KEY, make_settings, start


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def served(level: str, clean_db: AsyncEngine, redis_url: str) -> FastAPI:
    return create_app(
        make_settings(
            database_url=str(clean_db.url.render_as_string(False)),
            redis_url=redis_url,
            log_level=level,
        )
    )


async def test_each_line_of_a_request_carries_its_id_method_and_path(
    clean_db: AsyncEngine, redis_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    app = served("INFO", clean_db, redis_url)
    async for client in start(app):
        capfd.readouterr()
        response = await client.get("/health/live", headers={"X-Request-Id": "trace-9"})
        structlog.get_logger("test").info("after_the_request")
    assert response.headers["x-request-id"] == "trace-9"
    logged = lines(capfd.readouterr().err)
    access = [line for line in logged if line["event"] == "http_request"]
    assert access == [
        access[0]
        | {
            "request_id": "trace-9",
            "method": "GET",
            "path": "/health/live",
            "route": "/health/live",
            "status": 200,
        }
    ]
    after = next(line for line in logged if line["event"] == "after_the_request")
    assert "request_id" not in after, "nothing of the request outlives it"


async def test_made_ids_are_32_hex_digits_and_never_repeat(client: httpx.AsyncClient) -> None:
    ids = [
        (await client.get("/health/live", headers=headers)).headers["x-request-id"]
        for headers in ({}, {}, {"X-Request-Id": "bad id with spaces"}, {"X-Request-Id": ""})
    ]
    assert all(re.fullmatch(r"[0-9a-f]{32}", made) for made in ids)
    assert len(set(ids)) == len(ids)


async def test_no_access_line_below_its_level(
    clean_db: AsyncEngine, redis_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    app = served("WARNING", clean_db, redis_url)
    async for client in start(app):
        capfd.readouterr()
        assert (await client.get("/health/live")).status_code == 200
    assert not [line for line in lines(capfd.readouterr().err) if line["event"] == "http_request"]


def requests_total(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    """The labelled children are looked up once and kept: each status still counts apart,
    and a route with a path parameter is counted under its template."""
    auth = {"Authorization": f"Bearer {API_KEY}"}
    options = "/v1/fulfillment-options"
    one = "/v1/fulfillments/{fulfillment_id}"
    before = {
        "ok": requests_total("GET", options, "200"),
        "refused": requests_total("GET", options, "401"),
        "param": requests_total("GET", one, "404"),
        "latency": REGISTRY.get_sample_value(
            "http_request_duration_seconds_count", {"method": "GET", "route": options}
        )
        or 0.0,
    }
    for _ in range(3):
        assert (await client.get(options, headers=auth)).status_code == 200
    assert (await client.get(options)).status_code == 401
    for missing in ("a1", "b2"):
        assert (await client.get(f"/v1/fulfillments/{missing}", headers=auth)).status_code == 404
    assert requests_total("GET", options, "200") == before["ok"] + 3
    assert requests_total("GET", options, "401") == before["refused"] + 1
    assert requests_total("GET", one, "404") == before["param"] + 2
    latency = REGISTRY.get_sample_value(
        "http_request_duration_seconds_count", {"method": "GET", "route": options}
    )
    assert latency == before["latency"] + 4
