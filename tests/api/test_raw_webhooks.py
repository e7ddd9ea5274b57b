"""CJ's webhooks served by app.api.fast_paths (app.api.raw_webhooks) answer exactly what
FastAPI's declared routes answer: the same request sent both ways gets the same status,
the same headers in the same order and the same body bytes, for the ack and for every
problem (401, 404, 413, 408, 503); the metrics and the access line are the same too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.fast_paths import FastPaths
from app.api.middleware.request_id import loggable_path
from app.core.config import Settings
from app.core.metrics import REGISTRY
from app.main import create_app
from tests.api import test_webhooks
from tests.api.test_webhooks import OPEN_ID, PATH, TOKEN, order_message, sign
from tests.fixtures.app import make_settings

Request = Callable[[], httpx.Request]

# The same app settings as the declared routes' tests (the `settings` marker over them).
settings = test_webhooks.settings


def without_fast_paths(app: FastAPI) -> ASGIApp:
    """The app's whole stack, as FastAPI builds it, but for `FastPaths`: every request goes
    to the declared routes."""
    assert app.user_middleware[-1].cls is FastPaths, "FastPaths is the innermost middleware"
    kept = app.user_middleware
    app.user_middleware = kept[:-1]
    try:
        stack = app.build_middleware_stack()
    finally:
        app.user_middleware = kept

    async def declared(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app
        await stack(scope, receive, send)

    return declared


class Both:
    """One app, served two ways: as uvicorn calls it, and without `FastPaths` (by its
    declared routes); the scope of each request is kept."""

    def __init__(self, app: FastAPI, *, root_path: str = "") -> None:
        self.app = app
        self.scopes: list[Scope] = []
        declared_stack = without_fast_paths(app)

        async def raw(scope: Scope, receive: Receive, send: Send) -> None:
            self.scopes.append(scope)
            await app(scope, receive, send)

        async def declared(scope: Scope, receive: Receive, send: Send) -> None:
            self.scopes.append(scope)
            await declared_stack(scope, receive, send)

        def client(asgi: ASGIApp) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=asgi, root_path=root_path)
            return httpx.AsyncClient(transport=transport, base_url="http://t")

        self.raw = client(raw)
        self.declared = client(declared)

    async def send(
        self, make: Request, *, raw_path: bool = True
    ) -> tuple[httpx.Response, httpx.Response]:
        """The answers both ways; `raw_path`: the first never reaches FastAPI's router."""
        raw = await self.raw.send(make())
        assert ("router" not in self.scopes[-1]) is raw_path
        declared = await self.declared.send(make())
        return raw, declared


async def served(app: FastAPI, *, root_path: str = "") -> AsyncIterator[Both]:
    async with app.router.lifespan_context(app):
        both = Both(app, root_path=root_path)
        async with both.raw, both.declared:
            yield both


@pytest.fixture
async def both(app: FastAPI) -> AsyncIterator[Both]:
    async for b in served(app):
        yield b


def answer(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return response.status_code, list(response.headers.raw), response.content


def post(
    body: bytes | None = None,
    *,
    path: str = PATH,
    signed: bool = True,
    headers: dict[str, str | bytes] | None = None,
    stream: Callable[[], AsyncIterator[bytes]] | None = None,
) -> Request:
    """A request made afresh for each way (a new messageId unless `body` is given; a
    `stream` is sent chunked instead of the body)."""

    def make() -> httpx.Request:
        raw = body if body is not None else order_message("cjf-raw-1", "UNSHIPPED")
        sent: dict[str, str | bytes] = {
            "Content-Type": "application/json",
            "X-Request-Id": "same-id-both-ways",
        }
        if signed:
            sent["sign"] = sign(raw)
        sent |= headers or {}
        content = stream() if stream is not None else raw
        return httpx.Request("POST", f"http://t{path}", content=content, headers=sent)

    return make


async def assert_same(both: Both, make: Request, status: int) -> httpx.Response:
    raw, declared = await both.send(make)
    assert answer(raw) == answer(declared)
    assert raw.status_code == status, raw.text
    return raw


DUPLICATE = order_message("cjf-raw-dup", "SHIPPED")


async def chunked_over_the_limit() -> AsyncIterator[bytes]:
    for _ in range(2):
        yield b"x" * 3_000


async def stalling() -> AsyncIterator[bytes]:
    yield b'{"messageId":'
    await asyncio.sleep(5)


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (post(), 200),
        (post(DUPLICATE), 200),  # stored by the first way, a duplicate for the second
        (post(signed=False), 401),
        (post(headers={"sign": "bm90IHRoZSByaWdodCBzaWduYXR1cmU="}), 401),
        (post(headers={"sign": b"\xff"}), 401),
        (post(path="/webhooks/cj/wrong-token"), 404),
        (post(path="/webhooks/cj"), 404),  # a path token is configured
        (post(b"x" * 2_000), 413),  # WEBHOOK_MAX_BODY_BYTES
        (post(b"x" * 5_000), 413),  # MAX_BODY_BYTES, from Content-Length
        (post(stream=chunked_over_the_limit), 413),
    ],
    ids=[
        "ack",
        "duplicate",
        "unsigned",
        "forged",
        "undecodable sign",
        "wrong path token",
        "no path token",
        "over the webhook limit",
        "over the body limit",
        "chunked over the body limit",
    ],
)
@pytest.mark.settings(webhook_max_body_bytes=1_000, max_body_bytes=4_000)
async def test_each_answer_is_the_declared_routes_byte_for_byte(
    both: Both, make: Request, status: int
) -> None:
    response = await assert_same(both, make, status)
    assert response.headers["x-request-id"] == "same-id-both-ways"


async def test_a_made_request_id_is_the_only_difference(both: Both) -> None:
    def make() -> httpx.Request:
        request = post()()
        del request.headers["x-request-id"]
        return request

    raw, declared = await both.send(make)
    assert raw.headers["x-request-id"] != declared.headers["x-request-id"]

    def without_id(response: httpx.Response) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v in response.headers.raw if k.lower() != b"x-request-id"]

    assert (raw.status_code, without_id(raw), raw.content) == (
        declared.status_code,
        without_id(declared),
        declared.content,
    )


@pytest.mark.settings(cj_webhook_path_token="")
@pytest.mark.parametrize(
    ("path", "status"), [("/webhooks/cj", 200), (f"/webhooks/cj/{TOKEN}", 404)]
)
async def test_without_a_path_token_both_ways_agree(both: Both, path: str, status: int) -> None:
    await assert_same(both, post(path=path), status)


@pytest.mark.settings(body_timeout_seconds=0.2)
async def test_a_body_that_stalls_is_the_same_408(both: Both) -> None:
    response = await assert_same(both, post(stream=stalling), 408)
    assert response.headers["connection"] == "close"


async def test_an_unreachable_database_is_the_same_503() -> None:
    settings = make_settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nothing",
        redis_url="",
        cj_open_id=OPEN_ID,
        cj_webhook_verify="enforce",
        cj_webhook_path_token=TOKEN,
    )
    async for b in served(create_app(settings)):
        response = await assert_same(b, post(), 503)
    assert response.headers["retry-after"] == "5"


def counted(route: str, status: int) -> float:
    labels = {"method": "POST", "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


async def assert_observed_the_same(
    app: FastAPI,
    capfd: pytest.CaptureFixture[str],
    make: Request,
    status: int,
    route: str,
    *,
    raw_path: bool = True,
) -> dict[str, object]:
    """Both ways counted under `route` and logged the same access line; that line. `app`
    is built in the test, so that its log handler writes where capfd reads."""
    before = counted(route, status)
    async for b in served(app):
        capfd.readouterr()
        raw, declared = await b.send(make, raw_path=raw_path)
        assert answer(raw) == answer(declared)
        assert raw.status_code == status, raw.text
    assert counted(route, status) == before + 2
    logged = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line[:1] == "{"]
    lines = [
        {k: v for k, v in line.items() if k not in {"timestamp", "duration_ms"}}
        for line in logged
        if line["event"] == "http_request"
    ]
    assert len(lines) == 2
    assert lines[0] == lines[1]
    assert (lines[0]["route"], lines[0]["status"]) == (route, status)
    assert TOKEN not in json.dumps(logged)
    return lines[0]


async def test_the_metrics_and_the_access_line_are_the_same(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    template = "/webhooks/cj/{token}"
    line = await assert_observed_the_same(create_app(settings), capfd, post(), 200, template)
    # The path token is a secret: no line shows it, only the route's template.
    assert (line["path"], line["request_id"]) == (template, "same-id-both-ways")


@pytest.mark.parametrize(
    ("make", "status", "route"),
    [
        (post(b"x" * 5_000), 413, "unmatched"),  # MAX_BODY_BYTES, from Content-Length
        (post(stream=chunked_over_the_limit), 413, "unmatched"),
        (post(stream=stalling), 408, "unmatched"),
        # The route's own refusals are the route's.
        (post(b"x" * 2_000), 413, "/webhooks/cj/{token}"),  # WEBHOOK_MAX_BODY_BYTES
        (post(signed=False), 401, "/webhooks/cj/{token}"),
        (post(path="/webhooks/cj"), 404, "/webhooks/cj"),
    ],
    ids=[
        "over the body limit",
        "chunked over the body limit",
        "stalling",
        "over the webhook limit",
        "unsigned",
        "no path token",
    ],
)
@pytest.mark.settings(webhook_max_body_bytes=1_000, max_body_bytes=4_000, body_timeout_seconds=0.2)
async def test_our_middlewares_answers_are_unmatched_as_fastapi_labels_them(
    settings: Settings,
    capfd: pytest.CaptureFixture[str],
    make: Request,
    status: int,
    route: str,
) -> None:
    """A 413 or 408 from the body limits is given before any route is matched: FastAPI
    labels it `unmatched`, and so do the fast paths."""
    await assert_observed_the_same(create_app(settings), capfd, make, status, route)


@pytest.mark.parametrize(
    ("path", "status"),
    [(f"/svc/webhooks/cj/{TOKEN}", 200), ("/svc/webhooks/cj", 404), ("/svc/webhooks/cj/x", 404)],
    ids=["ack", "no path token", "wrong path token"],
)
async def test_under_a_root_path_the_fast_path_serves_the_same(
    app: FastAPI, path: str, status: int
) -> None:
    async for b in served(app, root_path="/svc"):
        raw, declared = await b.send(post(path=path))
        assert answer(raw) == answer(declared)
        assert raw.status_code == status, raw.text


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        (PATH, "/webhooks/cj/{token}"),
        (f"/svc{PATH}", "/svc/webhooks/cj/{token}"),  # under a root path
        ("/webhooks/cj/a-guess", "/webhooks/cj/{token}"),
        ("/webhooks/cj", "/webhooks/cj"),
        ("/v1/rates", "/v1/rates"),
    ],
)
def test_log_lines_never_show_the_path_token(path: str, shown: str) -> None:
    assert loggable_path(path) == shown
