"""cjsim's products, variants and stock: CJ's shapes, codes and points."""

from __future__ import annotations

import json

import httpx

from cjsim import products
from tests.cjsim.support import API, CJ, US_TEE

assert US_TEE is not None
TSHIRT = products.product_of(US_TEE.vid)
assert TSHIRT is not None


class TestProductQuery:
    async def test_by_pid_has_every_variant_with_weight_and_dimensions(self, cj: CJ) -> None:
        assert TSHIRT is not None
        body = await cj.get("/product/query", {"pid": TSHIRT.pid})
        assert body["code"] == 200
        data = body["data"]
        assert data["pid"] == TSHIRT.pid
        assert data["productNameEn"] == "Cotton T-Shirt"
        assert len(data["variants"]) == 9
        tee = next(v for v in data["variants"] if v["vid"] == US_TEE.vid)
        assert tee["variantSku"] == "CJ-TSHIRT-RED-M"
        assert tee["variantKey"] == "Red-M"
        # Option names as CJ's product/query sample gives them: English "-"-joined in
        # variantKey's order, Chinese as a JSON list in a string.
        assert data["productKeyEn"] == "Color-Size"
        assert json.loads(data["productKey"]) == ["颜色", "尺码"]
        assert tee["variantWeight"] == US_TEE.weight_g
        assert all(tee[f"variant{d}"] > 0 for d in ("Length", "Width", "Height"))

    async def test_by_product_sku_and_by_variant_sku(self, cj: CJ) -> None:
        assert TSHIRT is not None
        by_sku = await cj.get("/product/query", {"productSku": "CJ-TSHIRT"})
        by_variant = await cj.get("/product/query", {"variantSku": "CJ-TSHIRT-RED-M"})
        assert by_sku["data"]["pid"] == by_variant["data"]["pid"] == TSHIRT.pid

    async def test_unknown_product_is_1602001_and_nothing_asked_is_16900403(self, cj: CJ) -> None:
        unknown = await cj.get("/product/query", {"pid": "2503190327561613000"})
        assert (unknown["code"], unknown["result"]) == (1602001, False)
        empty = await cj.get("/product/query")
        assert empty["code"] == 16900403

    async def test_a_delisted_product_is_1602002(
        self, cj: CJ, sim_client: httpx.AsyncClient
    ) -> None:
        assert TSHIRT is not None
        await sim_client.post(f"/_sim/listing/{TSHIRT.pid}", json={"listed": False})
        body = await cj.get("/product/query", {"pid": TSHIRT.pid})
        assert body["code"] == 1602002
        await sim_client.post(f"/_sim/listing/{TSHIRT.pid}", json={"listed": True})
        assert (await cj.get("/product/query", {"pid": TSHIRT.pid}))["code"] == 200


class TestVariants:
    async def test_variant_query_lists_the_listed_variants(
        self, cj: CJ, sim_client: httpx.AsyncClient
    ) -> None:
        assert TSHIRT is not None
        await sim_client.post(f"/_sim/listing/{US_TEE.vid}", json={"listed": False})
        body = await cj.get("/product/variant/query", {"pid": TSHIRT.pid})
        vids = {v["vid"] for v in body["data"]}
        assert len(vids) == 8
        assert US_TEE.vid not in vids

    async def test_by_vid_known_unknown_and_delisted(
        self, cj: CJ, sim_client: httpx.AsyncClient
    ) -> None:
        known = await cj.get("/product/variant/queryByVid", {"vid": US_TEE.vid})
        assert known["data"]["variantSku"] == "CJ-TSHIRT-RED-M"
        unknown = await cj.get("/product/variant/queryByVid", {"vid": "NO-SUCH-VID"})
        assert unknown["code"] == 1602000
        await sim_client.post(f"/_sim/listing/{US_TEE.vid}", json={"listed": False})
        delisted = await cj.get("/product/variant/queryByVid", {"vid": US_TEE.vid})
        assert delisted["code"] == 1602003


class TestStock:
    async def test_by_vid_per_warehouse_and_a_change_shows(
        self, cj: CJ, sim_client: httpx.AsyncClient
    ) -> None:
        rows = (await cj.get("/product/stock/queryByVid", {"vid": US_TEE.vid}))["data"]
        assert {r["countryCode"] for r in rows} == {"US", "CN"}
        assert all(r["vid"] == US_TEE.vid and r["totalInventoryNum"] > 0 for r in rows)
        changed = await sim_client.post(
            f"/_sim/variants/{US_TEE.vid}/stock", json={"country_code": "US", "quantity": 0}
        )
        assert changed.json()["stock"]["US"] == 0
        rows = (await cj.get("/product/stock/queryByVid", {"vid": US_TEE.vid}))["data"]
        assert {r["countryCode"]: r["totalInventoryNum"] for r in rows}["US"] == 0

    async def test_inventory_by_pid_covers_every_variant(self, cj: CJ) -> None:
        assert TSHIRT is not None
        response = await cj.client.get(
            f"{API}/product/stock/getInventoryByPid", params={"pid": TSHIRT.pid},
            headers=cj.headers,
        )  # fmt: skip
        body = response.json()
        assert body["success"] is True
        variants = body["data"]["variantInventories"]
        assert {v["vid"] for v in variants} == {v.vid for v in TSHIRT.variants}
        assert {e["countryCode"] for e in variants[0]["inventory"]} == {"US", "CN"}


class TestCatalogAndPoints:
    async def test_catalog_lists_products_with_urls(self, sim_client: httpx.AsyncClient) -> None:
        listed = (await sim_client.get("/_sim/catalog")).json()["products"]
        tshirt = next(p for p in listed if p["sku"] == "CJ-TSHIRT")
        assert tshirt["url"].endswith(f"-p-{tshirt['pid']}.html")
        assert tshirt["pod"] is True
        assert len(tshirt["variants"]) == 9

    async def test_product_calls_cost_10_points_and_stop_at_429(
        self, cj: CJ, sim_client: httpx.AsyncClient
    ) -> None:
        await sim_client.post("/_sim/config", json={"points_per_day": 25})
        assert (await cj.get("/product/variant/queryByVid", {"vid": US_TEE.vid}))["code"] == 200
        assert (await cj.get("/product/stock/queryByVid", {"vid": US_TEE.vid}))["code"] == 200
        response = await cj.client.get(
            f"{API}/product/variant/queryByVid", params={"vid": US_TEE.vid}, headers=cj.headers
        )
        assert response.status_code == 429
        assert response.json()["pointsInfo"]["remaining"] == 5


class TestOrders:
    async def test_pod_properties_are_kept_and_a_bad_one_is_param_error(
        self, cj: CJ, sim_client: httpx.AsyncClient
    ) -> None:
        pod = '[{"areaName":"LogoArea","links":["https://img.example/logo.png"],"type":"1"}]'
        line = {"vid": US_TEE.vid, "quantity": 1, "storeLineItemId": "li_pod"}
        await cj.create_ok(products=[{**line, "podProperties": pod}])
        [order] = (await sim_client.get("/_sim/orders")).json()["orders"]
        assert order["podProperties"] == {"li_pod": pod}
        too_long = await cj.create(
            orderNumber="ful_0002", products=[{**line, "podProperties": "x" * 501}]
        )
        assert too_long["code"] == 1600100
        not_text = await cj.create(
            orderNumber="ful_0003", products=[{**line, "podProperties": [{"links": []}]}]
        )
        assert not_text["code"] == 1600100

    async def test_a_delisted_variant_is_not_ordered(
        self, cj: CJ, sim_client: httpx.AsyncClient
    ) -> None:
        await sim_client.post(f"/_sim/listing/{US_TEE.vid}", json={"listed": False})
        body = await cj.create()
        assert body["code"] == 1602003
        assert (await sim_client.get("/_sim/stats")).json()["orders"] == 0
