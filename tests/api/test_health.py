from __future__ import annotations

import httpx
from starlette.routing import Route

from app.api.middleware.metrics import route_template
from app.core.metrics import REGISTRY
from app.main import create_app
from tests.fixtures.app import make_settings, start


class TestLive:
    async def test_live_is_ok(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/live")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


class TestReady:
    async def test_ready_reports_each_check(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/ready")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["redis"] == "ok"

    async def test_database_down_is_503(self) -> None:
        settings = make_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none")
        async for client in start(create_app(settings)):
            response = await client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["database"] == "down"

    async def test_redis_down_is_degraded_not_503(self, database_url: str) -> None:
        settings = make_settings(database_url=database_url, redis_url="redis://127.0.0.1:1/0")
        async for client in start(create_app(settings)):
            response = await client.get("/health/ready")
        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["redis"] == "down"

    async def test_without_redis_configured(self, database_url: str) -> None:
        settings = make_settings(database_url=database_url, redis_url="")
        async for client in start(create_app(settings)):
            response = await client.get("/health/ready")
        assert response.json()["status"] == "ok"
        assert response.json()["checks"]["redis"] == "not_configured"

    async def test_each_probe_sets_the_readiness_gauges(self, database_url: str) -> None:
        down = make_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none")
        async for client in start(create_app(down)):
            await client.get("/health/ready")
        assert REGISTRY.get_sample_value("readiness_ok") == 0
        assert REGISTRY.get_sample_value("readiness_check_ok", {"check": "database"}) == 0
        up = make_settings(database_url=database_url, redis_url="redis://127.0.0.1:1/0")
        async for client in start(create_app(up)):
            await client.get("/health/ready")
        assert REGISTRY.get_sample_value("readiness_ok") == 1
        assert REGISTRY.get_sample_value("readiness_check_ok", {"check": "database"}) == 1
        assert REGISTRY.get_sample_value("readiness_check_ok", {"check": "redis"}) == 0


class TestMetrics:
    async def test_prometheus_text_with_route_templates(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        await client.get("/health/live")
        await client.get("/v1/fulfillment-options", headers=auth)
        await client.get("/no/such/path/12345")
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        text = response.text
        assert 'http_requests_total{method="GET",route="/health/live",status="200"}' in text
        assert 'route="unmatched"' in text
        assert (
            'http_requests_total{method="GET",route="/v1/fulfillment-options",status="200"}' in text
        )
        assert "/no/such/path/12345" not in text
        assert "http_request_duration_seconds_bucket" in text


class TestRouteTemplate:
    def test_keeps_the_router_prefix_and_hides_the_ids(self) -> None:
        route = Route("/fulfillments/{id}", endpoint=lambda _: None)
        scope = {
            "route": route,
            "path": "/v1/fulfillments/ful_123",
            "path_params": {"id": "ful_123"},
        }
        assert route_template(scope) == "/v1/fulfillments/{id}"

    def test_unmatched(self) -> None:
        assert route_template({"path": "/nowhere"}) == "unmatched"
