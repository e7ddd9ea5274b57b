"""Slow clients over a real connection (uvicorn): a body that does not arrive within
BODY_TIMEOUT_SECONDS is answered 408 and the connection is closed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from tests.e2e.support import free_port
from tests.fixtures.app import API_KEY, make_settings


@pytest.fixture
async def server(clean_db: AsyncEngine, redis_url: str) -> AsyncIterator[int]:
    settings = make_settings(
        database_url=clean_db.url.render_as_string(False),
        redis_url=redis_url,
        body_timeout_seconds=1,
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, lifespan="on", log_config=None
    )
    served = uvicorn.Server(config)
    task = asyncio.create_task(served.serve())
    try:
        async with asyncio.timeout(60):
            while not served.started:
                await asyncio.sleep(0.05)
        yield port
    finally:
        served.should_exit = True
        await task


def head(length: int) -> bytes:
    return (
        "POST /v1/rates HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {API_KEY}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def test_a_body_that_stalls_is_408_and_the_connection_closes(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(head(100) + b'{"currency":')  # and nothing more
    await writer.drain()
    async with asyncio.timeout(30):
        answer = await reader.read()  # until the server closes the connection
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    assert b"content-type: application/problem+json" in headers.lower()
    assert b"connection: close" in headers.lower()
    problem = json.loads(body)
    assert (problem["status"], problem["type"].rsplit("/", 1)[1]) == (408, "request-timeout")
    assert problem["request_id"]


async def test_a_body_in_parts_that_arrives_in_time_is_served(server: int) -> None:
    body = json.dumps(
        {
            "destination": {"country_code": "US"},
            "items": [{"sku": "NO-SUCH-SKU", "quantity": 1}],
            "currency": "USD",
        }
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(head(len(body)) + body[:10])
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.write(body[10:])
    await writer.drain()
    async with asyncio.timeout(30):
        status_line = await reader.readline()
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 422")  # the unknown SKU: the body was read
