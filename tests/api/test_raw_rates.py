"""`POST /v1/rates` served by app.api.fast_paths (app.api.raw_rates) answers exactly what
FastAPI's declared route answers: the same request sent both ways gets the same status,
headers in the same order and body bytes. The plain requests (and the service's own
errors) are answered without FastAPI's router; every other one (no key, a wrong one,
another content type, a body that is not JSON or not a valid request) is FastAPI's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from app.api import raw_rates
from app.api.deps import _bearer, require_api_key
from app.api.v1.rates import quote_rates
from app.core.config import Settings
from app.main import create_app
from app.schemas.rates import RateRequest
from tests.api.test_rates import fast_sim, rate_body, settings
from tests.api.test_raw_webhooks import (
    Both,
    Request,
    answer,
    assert_observed_the_same,
    served,
)
from tests.fixtures.app import API_KEY, make_settings

__all__ = ["fast_sim", "settings"]  # the fixtures of tests/api/test_rates.py

KEY = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
async def both(app: FastAPI) -> AsyncIterator[Both]:
    async for b in served(app):
        yield b


def post(
    body: Any = None, *, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> Request:
    def make() -> httpx.Request:
        content = raw if raw is not None else json.dumps(body or rate_body()).encode()
        sent = {"Content-Type": "application/json", "X-Request-Id": "same-id-both-ways", **KEY}
        sent |= headers or {}
        sent = {k: v for k, v in sent.items() if v}
        return httpx.Request("POST", "http://t/v1/rates", content=content, headers=sent)

    return make


async def assert_same(both: Both, make: Request, status: int | None, *, raw_path: bool) -> None:
    raw, declared = await both.send(make, raw_path=raw_path)
    assert answer(raw) == answer(declared)
    assert status is None or raw.status_code == status, raw.text


async def test_a_priced_answer_is_the_declared_routes_byte_for_byte(both: Both) -> None:
    warm = await both.declared.send(post()())  # live; then both ways read the same quote
    assert warm.status_code == 200, warm.text
    await assert_same(both, post(), 200, raw_path=True)
    every = rate_body(option_id=None)
    await both.declared.send(post(every)())
    await assert_same(both, post(every), 200, raw_path=True)


@pytest.mark.parametrize(
    "body",
    [
        rate_body(items=[{"sku": "NOPE-1", "quantity": 1}]),
        rate_body(option_id="nope"),
        rate_body(currency="XYZ"),
        rate_body(destination={"country_code": "CA", "zip": "K1A 0B1"}),
        rate_body(option_id=None, destination={"country_code": "BR"}),
    ],
    ids=["unknown sku", "unknown option", "unknown currency", "not served", "no option"],
)
async def test_the_services_refusals_are_the_same(both: Both, body: dict[str, Any]) -> None:
    await assert_same(both, post(body), 422, raw_path=True)


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (post(headers={"Authorization": ""}), 401),
        (post(headers={"Authorization": "Bearer wrong-key"}), 401),
        (post(headers={"Authorization": f"Basic {API_KEY}"}), 401),
        (post(headers={"Authorization": "Bearer"}), 401),
        (post(raw=b'{"currency":'), 422),
        (post(raw=b'{"currency":', headers={"Authorization": ""}), 422),
        (post(raw=b""), 422),
        (post(raw=b"null"), 422),
        (post(rate_body(items=[{"quantity": 1}])), 422),
        (post(rate_body(items=[])), 422),
        (post(rate_body(destination={"country_code": "US", "zip": "x" * 500})), 422),
        (post(raw=b"[" * 100_000), 400),
        (post(headers={"Content-Type": "text/plain"}), 422),
    ],
    ids=[
        "no key",
        "wrong key",
        "basic scheme",
        "no credentials",
        "not json",
        "not json and no key",
        "empty body",
        "null",
        "item without vid or sku",
        "no items",
        "zip too long",
        "nested too deep",
        "text/plain",
    ],
)
async def test_everything_else_is_fastapis_own_answer(
    both: Both, make: Request, status: int
) -> None:
    await assert_same(both, make, status, raw_path=False)


@pytest.mark.parametrize("content_type", ["", "application/json; charset=utf-8", "x/y+json"])
async def test_another_json_content_type_is_fastapis_own_answer(
    both: Both, content_type: str
) -> None:
    await both.declared.send(post()())  # both ways then read the same quote, if priced
    await assert_same(both, post(headers={"Content-Type": content_type}), None, raw_path=False)


async def test_the_body_limit_is_the_same_413(both: Both) -> None:
    await assert_same(both, post(raw=b"x" * (1024 * 1024 + 1)), 413, raw_path=True)


async def test_the_body_limit_is_unmatched_as_fastapi_labels_it(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    """Our body limit answers before any route is matched: `unmatched`, both ways."""
    too_large = post(raw=b"x" * (1024 * 1024 + 1))
    await assert_observed_the_same(create_app(settings), capfd, too_large, 413, "unmatched")


def shape(dependant: Dependant) -> tuple[object, ...]:
    """What FastAPI solves for a route: its dependencies (each with its own), its
    parameters by kind, its body."""
    return (
        dependant.call,
        tuple(shape(d) for d in dependant.dependencies),
        tuple(p.name for p in dependant.path_params),
        tuple(p.name for p in dependant.query_params),
        tuple(p.name for p in dependant.header_params),
        tuple(p.name for p in dependant.cookie_params),
        tuple((p.name, p.field_info.annotation) for p in dependant.body_params),
    )


def test_the_fast_path_does_all_the_route_asks_fastapi_for() -> None:
    """raw_rates re-implements the rates route's dependencies (the v1 API key: a bearer
    credential, `api_key_matches`) and its body (a JSON `RateRequest`). Another dependency,
    parameter or body there would be skipped by the fast path for every plain request."""
    app = create_app(make_settings())
    [route] = [c for c in iter_route_contexts(app.routes) if c.endpoint is quote_rates]
    assert (route.path, route.methods, route.original_route) == (
        raw_rates.PATH,
        {"POST"},
        raw_rates.ROUTE,
    )
    no_params = ((), (), (), (), ())
    bearer = (_bearer, (), *no_params)
    expected = (quote_rates, ((require_api_key, (bearer,), *no_params),), (), (), (), ())
    assert shape(route.dependant) == (*expected, (("body", RateRequest),)), (
        "The rates route's dependencies or parameters changed: teach app.api.raw_rates "
        "(`_plain_request`) to do what they do (or to hand such requests to FastAPI), then "
        "pin them here."
    )
