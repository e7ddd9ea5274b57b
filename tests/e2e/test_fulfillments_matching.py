"""One CJ order per store fulfillment, whatever the Idempotency-Key: the same external_id
under other keys, and a store that lost a fulfillment and fulfils the same lines again
(Medusa deletes its fulfillment when createFulfillment fails after the service accepted
it). Real Postgres (its partial unique index) and a real cjsim server."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.e2e.fulfillments import (
    body,
    key,
    sim_stats,
    vid,
)


def line(line_item_id: str, quantity: int = 1, fulfilled: int = 0) -> dict[str, Any]:
    return {
        "line_item_id": line_item_id,
        "vid": vid("CJ-TSHIRT-RED-M"),
        "quantity": quantity,
        "fulfilled_quantity": fulfilled,
    }


def for_order(order_id: str, external_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {**body(external_id=external_id, items=items), "order_id": order_id}


async def cj_orders(sim: httpx.AsyncClient) -> dict[str, int]:
    orders: dict[str, int] = (await sim_stats(sim))["orders_by_number"]
    return orders


class TestSameExternalId:
    async def test_20_creates_with_other_keys_make_one_cj_order(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        await sim.post("/_sim/config", json={"latency_ms": 300})
        request = body()
        answers = await asyncio.gather(
            *(client.post("/v1/fulfillments", json=request, headers=key()) for _ in range(20))
        )
        await sim.post("/_sim/config", json={"latency_ms": 0})

        assert {a.status_code for a in answers} <= {201, 202}, [a.text for a in answers]
        ids = {a.json()["id"] for a in answers}
        assert len(ids) == 1
        assert await cj_orders(sim) == {ids.pop(): 1}

    async def test_later_create_gets_the_live_fulfillment(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        request = body()
        first = await client.post("/v1/fulfillments", json=request, headers=key())
        again = await client.post("/v1/fulfillments", json=request, headers=key())

        assert first.status_code == 201
        assert again.status_code == 201
        assert again.json() == first.json()
        assert list(await cj_orders(sim)) == [first.json()["id"]]

    async def test_other_items_are_a_conflict_naming_it(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        request = body()
        first = (await client.post("/v1/fulfillments", json=request, headers=key())).json()
        other = {**request, "items": [line("li_other")]}
        conflict = await client.post("/v1/fulfillments", json=other, headers=key())

        assert conflict.status_code == 409
        assert conflict.headers["content-type"].startswith("application/problem+json")
        assert conflict.json()["fulfillment_id"] == first["id"]
        assert first["id"] in conflict.json()["detail"]
        assert list(await cj_orders(sim)) == [first["id"]]

    async def test_a_cancelled_one_frees_its_external_id(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        request = body()
        first = (await client.post("/v1/fulfillments", json=request, headers=key())).json()
        cancelled = await client.post(f"/v1/fulfillments/{first['id']}/cancel")
        assert cancelled.json()["status"] == "cancelled"
        second = await client.post("/v1/fulfillments", json=request, headers=key())

        assert second.status_code == 201
        assert second.json()["id"] != first["id"]


class TestStoreLostItsFulfillment:
    async def test_same_order_and_lines_adopt_the_live_cj_order(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        items = [line("li_a", 2), line("li_b", 1)]
        first = (
            await client.post(
                "/v1/fulfillments", json=for_order("order_lost", "ful_m1", items), headers=key()
            )
        ).json()
        retried = await client.post(
            "/v1/fulfillments",
            json=for_order("order_lost", "ful_m2", list(reversed(items))),
            headers=key(),
        )

        assert retried.status_code == 201, retried.text
        adopted = retried.json()
        assert adopted["id"] == first["id"]
        assert adopted["cj_order_id"] == first["cj_order_id"]
        assert adopted["external_id"] == "ful_m2"
        assert list(await cj_orders(sim)) == [first["id"]]
        by_new = (await client.get("/v1/fulfillments", params={"external_id": "ful_m2"})).json()
        assert [f["id"] for f in by_new["fulfillments"]] == [first["id"]]
        events = (await client.get(f"/v1/fulfillments/{first['id']}/events")).json()["events"]
        assert events[-1]["detail"] == {"adopted_by": "ful_m2", "previous_external_id": "ful_m1"}

    async def test_split_fulfillments_of_other_lines_each_get_an_order(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        a = await client.post(
            "/v1/fulfillments",
            json=for_order("order_split", "ful_s1", [line("li_a")]),
            headers=key(),
        )
        b = await client.post(
            "/v1/fulfillments",
            json=for_order("order_split", "ful_s2", [line("li_b")]),
            headers=key(),
        )

        assert a.status_code == b.status_code == 201
        assert a.json()["id"] != b.json()["id"]
        assert len(await cj_orders(sim)) == 2

    async def test_a_line_split_in_equal_parts_the_store_counts_is_a_new_order(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        first = await client.post(
            "/v1/fulfillments",
            json=for_order("order_halves", "ful_h1", [line("li_a", 1)]),
            headers=key(),
        )
        # The store still counts the first half as fulfilled.
        second = await client.post(
            "/v1/fulfillments",
            json=for_order("order_halves", "ful_h2", [line("li_a", 1, fulfilled=1)]),
            headers=key(),
        )

        assert second.status_code == 201
        assert second.json()["id"] != first.json()["id"]
        assert len(await cj_orders(sim)) == 2

    async def test_a_cancelled_cj_order_is_not_adopted(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        first = (
            await client.post(
                "/v1/fulfillments",
                json=for_order("order_cancelled", "ful_c1", [line("li_a")]),
                headers=key(),
            )
        ).json()
        await client.post(f"/v1/fulfillments/{first['id']}/cancel")
        again = await client.post(
            "/v1/fulfillments",
            json=for_order("order_cancelled", "ful_c2", [line("li_a")]),
            headers=key(),
        )

        assert again.status_code == 201
        assert again.json()["id"] != first["id"]
