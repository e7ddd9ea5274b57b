"""Products from CJ (`/v1/products`), on a real cjsim and Postgres: a product link becomes a
mapping for every variant; refusals name the input and leave nothing behind."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import CatalogueProduct, SkuMapping, VariantStock


async def sim_product(sim: httpx.AsyncClient, sku: str) -> dict[str, Any]:
    products = (await sim.get("/_sim/catalog")).json()["products"]
    found: dict[str, Any] = next(p for p in products if p["sku"] == sku)
    return found


async def counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with engine.connect() as conn:
        values = []
        for model in (CatalogueProduct, SkuMapping, VariantStock):
            values.append((await conn.execute(select(func.count()).select_from(model))).scalar())
    return values[0] or 0, values[1] or 0, values[2] or 0


class TestAdd:
    async def test_a_product_link_maps_every_variant(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        tshirt = await sim_product(sim, "CJ-TSHIRT")
        response = await client.post("/v1/products", json={"product": tshirt["url"]})
        assert response.status_code == 201, response.text
        product = response.json()
        assert (product["pid"], product["name"], product["url"]) == (
            tshirt["pid"], "Cotton T-Shirt", tshirt["url"],
        )  # fmt: skip
        variants = {v["sku"]: v for v in product["variants"]}
        assert set(variants) == {v["sku"] for v in tshirt["variants"]}
        red_m = variants["CJ-TSHIRT-RED-M"]
        sim_red_m = next(v for v in tshirt["variants"] if v["sku"] == "CJ-TSHIRT-RED-M")
        assert red_m["vid"] == sim_red_m["vid"]
        assert red_m["stock"] == sim_red_m["stock"]
        assert set(red_m["ship_from"]) == {"US", "CN"}
        assert red_m["weight_g"] == "190.00"
        assert all(red_m["dimensions_mm"][d] for d in ("length", "width", "height"))
        assert red_m["sell_price"] == "6.50"
        assert product["options"] == ["Color", "Size"]
        assert red_m["variant_key"] == "Red-M"
        # The store SKU now prices at checkout.
        rate = await client.post(
            "/v1/rates",
            json={"destination": {"country_code": "US", "zip": "10001"}, "currency": "usd",
                  "option_id": "us-standard",
                  "items": [{"sku": "CJ-TSHIRT-RED-M", "quantity": 1}]},
        )  # fmt: skip
        assert rate.status_code == 200, rate.text
        stats = (await sim.get("/_sim/stats")).json()
        assert stats["calls"]["query"] == 2  # product/query, product/variant/query
        assert stats["calls"]["getInventoryByPid"] == 1

    async def test_a_pid_a_template_and_per_vid_skus(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        hoodie = await sim_product(sim, "CJ-HOODIE")
        first, second = hoodie["variants"]
        response = await client.post(
            "/v1/products",
            json={"product": hoodie["pid"], "sku_template": "SHOP-{variant_key}",
                  "skus": {first["vid"]: "MY-HOODIE"}},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        skus = {v["vid"]: v["sku"] for v in response.json()["variants"]}
        assert skus == {first["vid"]: "MY-HOODIE", second["vid"]: "SHOP-Grey-L"}
        assert response.json()["url"] is None

    async def test_adding_again_updates_and_drops_what_cj_delisted(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ) -> None:
        hoodie = await sim_product(sim, "CJ-HOODIE")
        assert (
            await client.post("/v1/products", json={"product": hoodie["url"]})
        ).status_code == 201
        gone = hoodie["variants"][1]
        await sim.post(f"/_sim/listing/{gone['vid']}", json={"listed": False})
        again = await client.post("/v1/products", json={"product": hoodie["url"]})
        assert again.status_code == 201
        assert [v["sku"] for v in again.json()["variants"]] == [hoodie["variants"][0]["sku"]]
        assert await counts(clean_db) == (1, 1, 1)

    async def test_adding_again_by_pid_keeps_the_link(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        hoodie = await sim_product(sim, "CJ-HOODIE")
        assert (
            await client.post("/v1/products", json={"product": hoodie["url"]})
        ).status_code == 201
        again = await client.post("/v1/products", json={"product": hoodie["pid"]})
        assert again.status_code == 201, again.text
        assert again.json()["url"] == hoodie["url"]
        assert (await client.get(f"/v1/products/{hoodie['pid']}")).json()["url"] == hoodie["url"]


class TestRefusals:
    @pytest.mark.parametrize(
        "text",
        ["https://www.amazon.com/dp/B0C1234567", "https://cjdropshipping.com/search?q=tee", "tee"],
    )
    async def test_not_a_cj_link_names_it(
        self, client: httpx.AsyncClient, clean_db: AsyncEngine, text: str
    ) -> None:
        response = await client.post("/v1/products", json={"product": text})
        assert response.status_code == 422
        problem = response.json()
        assert problem["type"].endswith("/not-a-cj-product-link")
        assert repr(text) in problem["detail"]
        assert response.headers["content-type"] == "application/problem+json"
        assert await counts(clean_db) == (0, 0, 0)

    async def test_a_product_cj_does_not_know(
        self, client: httpx.AsyncClient, clean_db: AsyncEngine
    ) -> None:
        link = "https://cjdropshipping.com/product/nothing-p-2503190327561613000.html"
        response = await client.post("/v1/products", json={"product": link})
        assert response.status_code == 422
        assert response.json()["type"].endswith("/unknown-cj-product")
        assert link in response.json()["detail"]
        assert await counts(clean_db) == (0, 0, 0)

    async def test_a_delisted_product(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ) -> None:
        mug = await sim_product(sim, "CJ-MUG")
        await sim.post(f"/_sim/listing/{mug['pid']}", json={"listed": False})
        response = await client.post("/v1/products", json={"product": mug["url"]})
        assert response.status_code == 422
        assert response.json()["type"].endswith("/cj-product-delisted")
        assert mug["url"] in response.json()["detail"]
        assert await counts(clean_db) == (0, 0, 0)

    async def test_points_running_out_half_way_leaves_nothing(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ) -> None:
        tshirt = await sim_product(sim, "CJ-TSHIRT")
        await sim.post("/_sim/config", json={"points_per_day": 25})  # two of three calls
        response = await client.post("/v1/products", json={"product": tshirt["url"]})
        assert response.status_code == 503
        problem = response.json()
        assert problem["type"].endswith("/cj-points-exhausted")
        assert tshirt["url"] in problem["detail"]
        assert int(response.headers["retry-after"]) > 0
        assert await counts(clean_db) == (0, 0, 0)

    async def test_a_store_sku_mapped_to_another_variant_is_409_and_nothing_changes(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ) -> None:
        hoodie = await sim_product(sim, "CJ-HOODIE")
        response = await client.post(
            "/v1/products",
            json={"product": hoodie["pid"], "sku_template": "SAME-{vid}",
                  "skus": {hoodie["variants"][1]["vid"]: "SAME-" + hoodie["variants"][0]["vid"]}},
        )  # fmt: skip
        assert response.status_code == 422
        assert response.json()["type"].endswith("/bad-sku-rule")
        mug = await sim_product(sim, "CJ-MUG")
        assert (await client.post("/v1/products", json={"product": mug["pid"]})).status_code == 201
        mug_sku = {hoodie["variants"][1]["vid"]: "CJ-MUG-WHITE-11OZ"}
        taken = await client.post("/v1/products", json={"product": hoodie["pid"], "skus": mug_sku})
        assert taken.status_code == 409
        assert taken.json()["type"].endswith("/sku-taken")
        assert "CJ-MUG-WHITE-11OZ" in taken.json()["detail"]
        assert await counts(clean_db) == (1, 1, 1)


class TestListAndRemove:
    async def test_list_read_and_remove(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, clean_db: AsyncEngine
    ) -> None:
        mug = await sim_product(sim, "CJ-MUG")
        await client.post("/v1/products", json={"product": mug["url"]})
        listed = (await client.get("/v1/products")).json()["products"]
        assert [p["pid"] for p in listed] == [mug["pid"]]
        assert (await client.get(f"/v1/products/{mug['pid']}")).json()["variants"][0]["sku"] == (
            "CJ-MUG-WHITE-11OZ"
        )
        assert (await client.delete(f"/v1/products/{mug['pid']}")).status_code == 204
        assert await counts(clean_db) == (0, 0, 0)
        missing = await client.get(f"/v1/products/{mug['pid']}")
        assert missing.status_code == 404
        assert (await client.delete(f"/v1/products/{mug['pid']}")).status_code == 404

    async def test_the_routes_need_the_api_key(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/products", headers={"Authorization": "Bearer wrong"})
        assert response.status_code == 401
