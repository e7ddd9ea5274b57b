"""The input rules, the same on every endpoint (app/schemas/rules.py), on Postgres."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from app.db.models import Fulfillment, IdempotencyKey, SkuMapping
from app.schemas.rules import METADATA_MAX_BYTES, METADATA_MAX_DEPTH

RATE: dict[str, Any] = {
    "option_id": "us-standard",
    "destination": {"country_code": "US", "zip": "10001", "city": "New York"},
    "items": [{"vid": "V1", "quantity": 1}],
    "currency": "USD",
}
FULFILLMENT: dict[str, Any] = {
    "external_id": "ful_01H",
    "order_id": "order_01H",
    "option_id": "us-standard",
    "shipping_address": {
        "name": "Ada Lovelace",
        "address1": "1 Main St",
        "city": "New York",
        "province": "NY",
        "country_code": "US",
        "zip": "10001",
    },
    "items": [{"line_item_id": "li_1", "vid": "V1", "quantity": 1}],
}
BODIES = [("/v1/rates", RATE), ("/v1/fulfillments", FULFILLMENT)]
CONTROL = ["Ada\x00", "1 Main\nSt", "tab\there", "bell\x07", "del\x7f", "c1\x85x"]
BAD_IDS = ["a/b", "..", ".", "../etc", "a b", "a%2Fb", "a?b", "a#b", "a\\b", "a\x00b", "a\nb", ""]


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return changed


async def post(
    client: httpx.AsyncClient, auth: dict[str, str], route: str, body: dict[str, Any]
) -> httpx.Response:
    headers = {**auth, "Idempotency-Key": "key-1"}
    return await client.post(route, json=body, headers=headers)


async def post_raw(
    client: httpx.AsyncClient, auth: dict[str, str], route: str, raw: bytes
) -> httpx.Response:
    """POST bytes as JSON (for bodies `json=` cannot write)."""
    headers = {**auth, "Idempotency-Key": "k", "Content-Type": "application/json"}
    return await client.post(route, content=raw, headers=headers)


def refused_fields(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [(e["field"], e["type"]) for e in response.json()["errors"]]


ID_FIELDS = [
    ("/v1/rates", RATE, "option_id"),
    ("/v1/rates", RATE, "items.0.vid"),
    ("/v1/fulfillments", FULFILLMENT, "external_id"),
    ("/v1/fulfillments", FULFILLMENT, "order_id"),
    ("/v1/fulfillments", FULFILLMENT, "option_id"),
    ("/v1/fulfillments", FULFILLMENT, "items.0.line_item_id"),
    ("/v1/fulfillments", FULFILLMENT, "items.0.vid"),
]
TEXT_FIELDS = [
    ("/v1/rates", RATE, "destination.city"),
    ("/v1/rates", RATE, "destination.zip"),
    ("/v1/rates", RATE, "items.0.sku"),
    ("/v1/fulfillments", FULFILLMENT, "shipping_address.name"),
    ("/v1/fulfillments", FULFILLMENT, "shipping_address.address1"),
    ("/v1/fulfillments", FULFILLMENT, "shipping_address.city"),
    ("/v1/fulfillments", FULFILLMENT, "shipping_address.province"),
    ("/v1/fulfillments", FULFILLMENT, "shipping_address.zip"),
    ("/v1/fulfillments", FULFILLMENT, "shipping_address.email"),
    ("/v1/fulfillments", FULFILLMENT, "items.0.sku"),
]
QUANTITY_FIELDS = [(route, body, "items.0.quantity") for route, body in BODIES]
NOT_QUANTITIES = [True, "3", 2.0, 0, 10_001, None]


def refused(
    rule: str, fields: list[tuple[str, dict[str, Any], str]], values: list[Any]
) -> list[Any]:
    """Each field with each value the rule refuses, named `rule-route-field-value`."""
    return [
        pytest.param(route, body, field, value, id=f"{rule}-{route}-{field}-{value!r}")
        for (route, body, field), value in itertools.product(fields, values)
    ]


@pytest.mark.parametrize(
    ("route", "body", "field", "bad"),
    [
        # Ids are a safe character set.
        *refused("id", ID_FIELDS, BAD_IDS),
        # Quantities are strict integers.
        *refused("quantity", QUANTITY_FIELDS, NOT_QUANTITIES),
        # Addresses and SKUs hold no control characters.
        *refused("text", TEXT_FIELDS, CONTROL),
    ],
)
async def test_a_value_its_rule_refuses_is_named_alone(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    route: str,
    body: dict[str, Any],
    field: str,
    bad: Any,
) -> None:
    response = await post(client, auth, route, with_value(body, field, bad))
    assert [f for f, _ in refused_fields(response)] == [f"body.{field}"]


@pytest.mark.parametrize(
    ("route", "body", "where"),
    [
        ("/v1/rates", RATE, ""),
        ("/v1/rates", RATE, "destination."),
        ("/v1/rates", RATE, "items.0."),
        ("/v1/fulfillments", FULFILLMENT, ""),
        ("/v1/fulfillments", FULFILLMENT, "shipping_address."),
        ("/v1/fulfillments", FULFILLMENT, "items.0."),
        ("/v1/fulfillment-options/validate", {"option_id": "us-standard"}, ""),
    ],
)
async def test_unknown_fields_get_the_same_answer_everywhere(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    route: str,
    body: dict[str, Any],
    where: str,
) -> None:
    response = await post(client, auth, route, with_value(body, f"{where}surprise", 1))
    assert refused_fields(response) == [(f"body.{where}surprise", "extra_forbidden")]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    "metadata",
    [
        nested(METADATA_MAX_DEPTH + 1),
        {"k": [[[[[[[[["deep"]]]]]]]]]},
        {"blob": "x" * METADATA_MAX_BYTES},
        {"nul": "a\x00b"},
        {"key\x00": 1},
        [1, 2],
        "text",
    ],
)
async def test_metadata_is_bounded(
    client: httpx.AsyncClient, auth: dict[str, str], metadata: Any
) -> None:
    response = await post(client, auth, "/v1/fulfillments", {**FULFILLMENT, "metadata": metadata})
    assert [f for f, _ in refused_fields(response)] == ["body.metadata"]


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "NaN", "Infinity"])
async def test_numbers_postgres_cannot_store_are_refused(
    client: httpx.AsyncClient, auth: dict[str, str], literal: str
) -> None:
    body = httpx.Request("POST", "/", json={**FULFILLMENT, "metadata": {"n": 0}}).content
    raw = body.replace(b'{"n":0}', b'{"n":' + literal.encode() + b"}")
    assert raw != body
    response = await post_raw(client, auth, "/v1/fulfillments", raw)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("route", ["/v1/rates", "/v1/fulfillments"])
async def test_a_body_nested_beyond_the_parser_is_a_problem_not_a_500(
    client: httpx.AsyncClient, auth: dict[str, str], route: str
) -> None:
    raw = b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await post_raw(client, auth, route, raw)
    assert response.status_code in {400, 422}
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("bad", ["a b", "a\x00b", "..", "x" * 41])
async def test_path_ids_follow_the_same_rules(
    client: httpx.AsyncClient, auth: dict[str, str], bad: str
) -> None:
    quoted = httpx.URL("http://test/v1/fulfillments/").copy_with(
        raw_path=b"/v1/fulfillments/" + bad.encode().replace(b" ", b"%20").replace(b"\x00", b"%00")
    )
    for path in (quoted, quoted.copy_with(raw_path=quoted.raw_path + b"/events")):
        response = await client.get(path, headers=auth)
        assert response.status_code in {404, 422}, (bad, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("query", ["external_id=a%00b", "order_id=a%2Fb", "external_id=a%0Ab"])
async def test_list_filters_follow_the_same_rules(
    client: httpx.AsyncClient, auth: dict[str, str], query: str
) -> None:
    response = await client.get(f"/v1/fulfillments?{query}", headers=auth)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_every_string_at_its_limit_fits_its_column(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """On Postgres: the longest value each rule accepts is stored (CJ is unreachable, so
    the fulfillment is queued), and read back unchanged."""
    sku = "S" * 128
    async with sessionmaker.begin() as session:
        session.add(SkuMapping(sku=sku, vid="V" * 128))
    body = {
        "external_id": "e" * 255,
        "order_id": "o" * 255,
        "option_id": "us-standard",
        "shipping_address": {
            # CJ's createOrderV2 lengths (seed 004 §1.1) are the API's limits.
            "name": "n" * 50,
            "phone": "+1 " + "5" * 17,
            "email": "a" * 39 + "@example.io",
            "address1": "1" * 200,
            "address2": "2" * 200,
            "city": "c" * 50,
            "province": "p" * 50,
            "country_code": "us",
            "zip": "z" * 20,
        },
        "items": [
            {"line_item_id": "l" * 255, "vid": "v" * 128, "quantity": 10_000},
            {"line_item_id": "m" * 255, "sku": sku, "quantity": 1},
        ],
        "metadata": {"note": "x" * (METADATA_MAX_BYTES - 20)},
    }
    response = await client.post(
        "/v1/fulfillments", json=body, headers={**auth, "Idempotency-Key": "k" * 255}
    )
    assert response.status_code in {201, 202}, response.text
    async with sessionmaker() as session:
        row = await session.scalar(select(Fulfillment).options(selectinload(Fulfillment.items)))
        key = await session.scalar(select(IdempotencyKey))
    assert row is not None
    assert key is not None
    assert (row.external_id, row.order_id) == (body["external_id"], body["order_id"])
    assert [(i.line_item_id, i.vid) for i in row.items] == [
        ("l" * 255, "v" * 128),
        ("m" * 255, "V" * 128),
    ]
    assert row.shipping_address["address1"] == "1" * 200
    assert row.meta == body["metadata"]
    assert key.key == "k" * 255
