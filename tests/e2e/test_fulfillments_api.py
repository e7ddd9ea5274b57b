"""POST /v1/fulfillments and the read endpoints, with the app in this process and a real
cjsim server: validation, idempotency (replay, other body, concurrent duplicate), CJ's
permanent refusals, and the history of every status change."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import IdempotencyKey
from tests.e2e.fulfillments import (
    body,
    key,
    sim_stats,
    vid,
)


class TestCreate:
    async def test_created_at_cj_now(self, client: httpx.AsyncClient, sim: httpx.AsyncClient):
        request = body()
        response = await client.post("/v1/fulfillments", json=request, headers=key())

        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "created"
        assert created["external_id"] == request["external_id"]
        assert created["order_id"] == request["order_id"]
        assert created["option_id"] == "us-standard"
        assert created["cj_order_number"] == created["id"]
        assert created["cj_order_id"].isdigit()
        assert response.headers["location"] == f"/v1/fulfillments/{created['id']}"
        assert "idempotent-replayed" not in response.headers

        cj_order = (await sim.get("/_sim/orders")).json()["orders"][0]
        assert cj_order["orderNumber"] == created["id"]
        assert cj_order["logisticName"] == "USPS+"  # the option's first logistic
        assert cj_order["fromCountryCode"] == "US"
        assert cj_order["shippingCountry"] == "United States"
        assert cj_order["shippingProvince"] == "NY"
        assert cj_order["orderStatus"] == "CREATED"  # CJ_PAY_TYPE=create_only
        assert (await sim_stats(sim))["orders_by_number"] == {created["id"]: 1}

    async def test_read_back_list_and_history(self, client: httpx.AsyncClient):
        request = body()
        created = (await client.post("/v1/fulfillments", json=request, headers=key())).json()

        one = await client.get(f"/v1/fulfillments/{created['id']}")
        assert one.status_code == 200
        assert one.json() == created
        by_external = await client.get(
            "/v1/fulfillments", params={"external_id": request["external_id"]}
        )
        assert by_external.json() == {"fulfillments": [created]}
        by_order = await client.get("/v1/fulfillments", params={"order_id": request["order_id"]})
        assert [f["id"] for f in by_order.json()["fulfillments"]] == [created["id"]]

        events = (await client.get(f"/v1/fulfillments/{created['id']}/events")).json()["events"]
        assert [(e["source"], e["from"], e["to"]) for e in events] == [
            ("api", None, "pending"),
            ("api", "pending", "created"),
        ]
        assert events[1]["detail"]["cj_order_id"] == created["cj_order_id"]

    async def test_unknown_fulfillment_and_missing_filter(self, client: httpx.AsyncClient):
        missing = await client.get("/v1/fulfillments/ful_nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert (await client.get("/v1/fulfillments/ful_nope/events")).status_code == 404
        assert (await client.get("/v1/fulfillments")).status_code == 400

    async def test_sku_mapped_line_items_are_sent_with_store_line_item_ids(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        items = [
            {"line_item_id": "li_a", "vid": vid("CJ-MUG-WHITE-11OZ"), "quantity": 1},
            {"line_item_id": "li_b", "vid": vid("CJ-CAP-NAVY"), "quantity": 3},
        ]
        response = await client.post("/v1/fulfillments", json=body(items=items), headers=key())
        assert response.status_code == 201, response.text
        cj_order = (await sim.get("/_sim/orders")).json()["orders"][0]
        sent = [(p["storeLineItemId"], p["vid"], p["quantity"]) for p in cj_order["productList"]]
        assert sent == [
            ("li_a", vid("CJ-MUG-WHITE-11OZ"), 1),
            ("li_b", vid("CJ-CAP-NAVY"), 3),
        ]


class TestIdempotency:
    async def test_missing_key_is_400(self, client: httpx.AsyncClient, sim: httpx.AsyncClient):
        response = await client.post("/v1/fulfillments", json=body())
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["detail"]
        assert (await sim_stats(sim))["orders_by_number"] == {}

    async def test_same_key_same_body_replays(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        request, headers = body(), key()
        first = await client.post("/v1/fulfillments", json=request, headers=headers)
        again = await client.post("/v1/fulfillments", json=request, headers=headers)

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["location"] == first.headers["location"]
        assert (await sim_stats(sim))["orders_by_number"] == {first.json()["id"]: 1}

    async def test_same_key_other_body_is_422(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        headers = key()
        first = await client.post("/v1/fulfillments", json=body(), headers=headers)
        other = await client.post("/v1/fulfillments", json=body(), headers=headers)

        assert first.status_code == 201
        assert other.status_code == 422
        assert "different request body" in other.json()["detail"]
        assert list((await sim_stats(sim))["orders_by_number"]) == [first.json()["id"]]

    async def test_concurrent_duplicate_is_409_and_one_order(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        # CJ answers slowly, so the first request is still in progress when the others arrive.
        await sim.post("/_sim/config", json={"latency_ms": 1500})
        request, headers = body(), key()
        answers = await asyncio.gather(
            *(client.post("/v1/fulfillments", json=request, headers=headers) for _ in range(4))
        )

        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201, 409, 409, 409], [a.text for a in answers]
        conflict = next(a for a in answers if a.status_code == 409)
        assert conflict.headers["retry-after"] == "1"
        assert "still being processed" in conflict.json()["detail"]
        await sim.post("/_sim/config", json={"latency_ms": 0})
        replay = await client.post("/v1/fulfillments", json=request, headers=headers)
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert list((await sim_stats(sim))["orders_by_number"].values()) == [1]


class TestValidation:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"country_code": "XX"}, "shipping_address.country_code"),
            ({"name": ""}, "shipping_address.name"),
            ({"address1": "x" * 201}, "shipping_address.address1"),
            ({"phone": "call me"}, "shipping_address.phone"),
            ({"email": "not-an-address"}, "shipping_address.email"),
            ({"zip": "1" * 21}, "shipping_address.zip"),
        ],
    )
    async def test_address_fields(
        self, client: httpx.AsyncClient, change: dict[str, str], field: str
    ):
        response = await client.post("/v1/fulfillments", json=body(**change), headers=key())
        assert response.status_code == 422
        assert field in {e["field"].removeprefix("body.") for e in response.json()["errors"]}

    async def test_items_need_sku_or_vid_and_unique_line_items(self, client: httpx.AsyncClient):
        no_ref = body(items=[{"line_item_id": "li_1", "quantity": 1}])
        no_ref_answer = await client.post("/v1/fulfillments", json=no_ref, headers=key())
        assert no_ref_answer.status_code == 422
        twice = body(
            items=[
                {"line_item_id": "li_1", "vid": vid("CJ-CAP-NAVY"), "quantity": 1},
                {"line_item_id": "li_1", "vid": vid("CJ-MUG-WHITE-11OZ"), "quantity": 1},
            ]
        )
        response = await client.post("/v1/fulfillments", json=twice, headers=key())
        assert response.status_code == 422
        assert "appears twice" in response.text

    async def test_unknown_sku_is_named(self, client: httpx.AsyncClient, sim: httpx.AsyncClient):
        request = body(items=[{"line_item_id": "li_1", "sku": "NO-SUCH-SKU", "quantity": 1}])
        response = await client.post("/v1/fulfillments", json=request, headers=key())
        assert response.status_code == 422
        assert "NO-SUCH-SKU" in response.json()["detail"]
        assert (await sim_stats(sim))["calls"].get("createOrderV2", 0) == 0

    async def test_option_must_exist_and_serve_the_destination(self, client: httpx.AsyncClient):
        unknown = await client.post("/v1/fulfillments", json=body(option_id="nope"), headers=key())
        assert unknown.status_code == 422
        assert "Unknown option_id" in unknown.json()["detail"]
        assert unknown.json()["type"].endswith("/unknown-option")  # the same as /v1/rates
        wrong = await client.post(
            "/v1/fulfillments",
            json=body(country="ca", province="ON", city="Toronto", zip="M5V 2T6"),
            headers=key(),
        )
        assert wrong.status_code == 422
        assert "does not ship to CA" in wrong.json()["detail"]
        assert wrong.json()["type"].endswith("/destination-not-served")
        assert wrong.json()["country_code"] == "CA"

    async def test_nothing_is_stored_for_an_invalid_request(self, client: httpx.AsyncClient):
        request = body(option_id="nope")
        await client.post("/v1/fulfillments", json=request, headers=key())
        listed = await client.get(
            "/v1/fulfillments", params={"external_id": request["external_id"]}
        )
        assert listed.json() == {"fulfillments": []}


class TestPermanentFailures:
    async def test_unknown_variant(self, client: httpx.AsyncClient, sim: httpx.AsyncClient):
        request = body(items=[{"line_item_id": "li_1", "vid": "NO-SUCH-VID", "quantity": 1}])
        response = await client.post("/v1/fulfillments", json=request, headers=key())

        assert response.status_code == 422
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["type"].endswith("/fulfillment-failed")
        assert "CJ does not sell a variant of this order" in problem["detail"]
        failed = problem["fulfillment"]
        assert failed["status"] == "failed"
        assert failed["status_reason"] == problem["detail"]
        stored = (await client.get(f"/v1/fulfillments/{failed['id']}")).json()
        assert stored["status"] == "failed"
        assert (await sim_stats(sim))["orders_by_number"] == {}

    async def test_no_logistic_of_the_option_serves_the_parcel(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ):
        # Two queen blankets weigh 4.8 kg: too heavy for both US Standard logistics.
        items = [{"line_item_id": "li_1", "vid": vid("CJ-BLANKET-QUEEN"), "quantity": 2}]
        response = await client.post("/v1/fulfillments", json=body(items=items), headers=key())
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert "CJ cannot ship this order from US to US with USPS+" in detail
        assert "with CJPacket US Standard" in detail
        assert (await sim_stats(sim))["calls"]["createOrderV2"] == 2

    async def test_parameter_error(self, client: httpx.AsyncClient, sim: httpx.AsyncClient):
        await sim.post(
            "/_sim/faults", json={"endpoint": "createOrderV2", "kind": "code", "code": 1600300}
        )
        response = await client.post("/v1/fulfillments", json=body(), headers=key())
        assert response.status_code == 422
        assert response.json()["detail"].startswith("CJ refused the order's data")
        assert "1600300" in response.json()["detail"]

    async def test_replay_of_a_failure_is_the_same_failure(self, client: httpx.AsyncClient):
        request = body(items=[{"line_item_id": "li_1", "vid": "NO-SUCH-VID", "quantity": 1}])
        headers = key()
        first = await client.post("/v1/fulfillments", json=request, headers=headers)
        again = await client.post("/v1/fulfillments", json=request, headers=headers)
        assert again.status_code == 422
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["fulfillment"] == first.json()["fulfillment"]


class TestInterruptedRequest:
    async def test_a_retry_after_the_first_request_died_gets_the_stored_row(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        request, headers = body(), key()
        first = (await client.post("/v1/fulfillments", json=request, headers=headers)).json()
        # As if the process died after committing the row, before storing its answer.
        async with clean_db.begin() as conn:
            await conn.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key == headers["Idempotency-Key"])
                .values(
                    state="in_progress",
                    response_status=None,
                    response_body=None,
                    locked_until=datetime.now(UTC) - timedelta(seconds=1),
                )
            )

        retry = await client.post("/v1/fulfillments", json=request, headers=headers)

        assert retry.status_code == 201
        assert retry.json()["id"] == first["id"]
        assert retry.headers["idempotent-replayed"] == "true"
        again = await client.post("/v1/fulfillments", json=request, headers=headers)
        assert again.json() == retry.json()
        assert (await sim_stats(sim))["orders_by_number"] == {first["id"]: 1}

    async def test_a_retry_while_the_first_may_still_run_is_409(
        self, client: httpx.AsyncClient, clean_db: AsyncEngine
    ):
        request, headers = body(), key()
        await client.post("/v1/fulfillments", json=request, headers=headers)
        async with clean_db.begin() as conn:
            await conn.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key == headers["Idempotency-Key"])
                .values(
                    state="in_progress",
                    locked_until=datetime.now(UTC) + timedelta(seconds=30),
                )
            )
        retry = await client.post("/v1/fulfillments", json=request, headers=headers)
        assert retry.status_code == 409
