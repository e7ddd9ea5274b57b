"""Every error is problem+json; nothing is a bare 500 or carries a stack trace."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.main import create_app
from tests.fixtures.app import API_KEY, OLD_API_KEY, make_settings, start

PROBLEM = "application/problem+json"
VALIDATE = "/v1/fulfillment-options/validate"


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance", "request_id"} <= body.keys()
    assert "Traceback" not in response.text
    return body


class TestAuth:
    async def test_missing_key_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/fulfillment-options")
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_wrong_key_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/v1/fulfillment-options", headers={"Authorization": "Bearer nope"}
        )
        assert_problem(response, 401)

    async def test_wrong_scheme_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/v1/fulfillment-options", headers={"Authorization": "Basic dGVzdA=="}
        )
        assert_problem(response, 401)

    async def test_every_configured_key_works(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        current = await client.get("/v1/fulfillment-options", headers=auth)
        previous = await client.get(
            "/v1/fulfillment-options", headers={"Authorization": f"Bearer {OLD_API_KEY}"}
        )
        assert current.status_code == previous.status_code == 200

    async def test_health_needs_no_key(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/health/live")).status_code == 200


class TestRequestErrors:
    async def test_malformed_json_is_422_with_field(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.post(
            VALIDATE,
            content=b'{"option_id": ',
            headers={**auth, "content-type": "application/json"},
        )
        body = assert_problem(response, 422)
        assert body["errors"]
        assert body["errors"][0]["type"] == "json_invalid"  # type: ignore[index]

    async def test_missing_field_is_named(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.post(VALIDATE, json={"data": {}}, headers=auth)
        body = assert_problem(response, 422)
        assert body["errors"] == [
            {"field": "body.option_id", "message": "Field required", "type": "missing"}
        ]
        assert "body.option_id" in str(body["detail"])

    async def test_two_mib_body_is_413(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        body = b'{"option_id": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        response = await client.post(
            VALIDATE, content=body, headers={**auth, "content-type": "application/json"}
        )
        assert_problem(response, 413)

    async def test_chunked_body_over_limit_is_413(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(3):
                yield b"x" * (512 * 1024)

        response = await client.post(
            VALIDATE, content=chunks(), headers={**auth, "content-type": "application/json"}
        )
        assert_problem(response, 413)

    async def test_chunked_body_under_limit_passes(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        async def chunks():  # type: ignore[no-untyped-def]
            yield b'{"option_id": "us-standard",'
            yield b' "data": {}}'

        response = await client.post(
            VALIDATE, content=chunks(), headers={**auth, "content-type": "application/json"}
        )
        assert response.status_code == 200

    async def test_unknown_path_is_404(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.get("/nowhere"), 404)
        assert body["instance"] == "/nowhere"

    async def test_wrong_method_is_405(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.delete("/health/live"), 405)


class TestUnexpectedErrors:
    async def test_crash_is_a_problem_500_with_request_id(self, app: FastAPI) -> None:
        @app.get("/boom")
        async def boom() -> None:
            raise RuntimeError("secret internal detail")

        async for client in start(app):
            response = await client.get("/boom", headers={"X-Request-ID": "req-123"})
        body = assert_problem(response, 500)
        assert body["request_id"] == "req-123"
        assert response.headers["x-request-id"] == "req-123"
        assert "secret internal detail" not in response.text


class TestRequestId:
    async def test_incoming_id_is_echoed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/live", headers={"X-Request-ID": "abc-42"})
        assert response.headers["x-request-id"] == "abc-42"

    async def test_id_is_generated_when_missing_or_unsafe(self, client: httpx.AsyncClient) -> None:
        generated = await client.get("/health/live")
        unsafe = await client.get("/health/live", headers={"X-Request-ID": "a b<script>"})
        assert len(generated.headers["x-request-id"]) == 32
        assert unsafe.headers["x-request-id"] != "a b<script>"

    async def test_problem_carries_request_id(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/nowhere", headers={"X-Request-ID": "trace-7"})
        assert response.json()["request_id"] == "trace-7"


class TestDatabaseDown:
    async def test_an_unreachable_database_is_503_with_retry_after(self) -> None:
        closed_port = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"
        app = create_app(make_settings(database_url=closed_port, redis_url=""))
        async for client in start(app):
            response = await client.get(
                "/v1/fulfillments/ful_x", headers={"Authorization": f"Bearer {API_KEY}"}
            )
        body = assert_problem(response, 503)
        assert body["type"].endswith("/database-unavailable")
        assert response.headers["retry-after"] == "5"
