"""CJ's products, variants and stock: product links, the translation on sample payloads
(tests/fixtures/cj_samples/product_*.json), and the client's calls (respx)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.cj.catalogue import (
    NotAProductLink,
    option_names,
    option_values,
    product_id_from,
    read_inventory,
    read_product,
    read_stock_rows,
    read_variants,
)
from app.cj.client import CJClient
from app.cj.envelope import unwrap
from app.cj.errors import CJPointsExhausted, CJUpstreamError, CJVariantNotFound
from tests.cj.conftest import ok

SAMPLES = Path(__file__).parents[1] / "fixtures" / "cj_samples"
PID = "2503190327561613000"
SEED_002_URL = (
    "https://cjdropshipping.com/product/mens-t-shirt-t-shirt-overalls-p-2503190327561613000.html"
)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def data_of(name: str) -> Any:
    body = sample(name)
    return unwrap(httpx.Response(200, json=body))[0]


class TestProductLinks:
    @pytest.mark.parametrize(
        ("text", "pid"),
        [
            (SEED_002_URL, "2503190327561613000"),
            (SEED_002_URL + "?from=home#reviews", "2503190327561613000"),
            ("http://www.cjdropshipping.com/product/x-p-2503190327561613000.html", PID),
            (
                "https://cjdropshipping.com/product/double-layer-chiffon-p-"
                "038DE737-0136-41A9-AAE1-91E866149536.html",
                "038DE737-0136-41A9-AAE1-91E866149536",
            ),
            ("  2503190327561613000 ", "2503190327561613000"),
            ("038DE737-0136-41A9-AAE1-91E866149536", "038DE737-0136-41A9-AAE1-91E866149536"),
        ],
    )  # fmt: skip
    def test_links_and_ids_give_the_pid(self, text: str, pid: str) -> None:
        assert product_id_from(text) == pid

    @pytest.mark.parametrize(
        "text",
        [
            "https://www.amazon.com/product/x-p-2503190327561613000.html",
            "https://cjdropshipping.com.evil.test/product/x-p-2503190327561613000.html",
            "https://cjdropshipping.com/search?q=t-shirt",
            "https://cjdropshipping.com/product/mens-t-shirt.html",
            "ftp://cjdropshipping.com/product/x-p-2503190327561613000.html",
            "CJ-TSHIRT-RED-M",
            "",
        ],
    )
    def test_anything_else_is_refused_naming_the_input(self, text: str) -> None:
        with pytest.raises(NotAProductLink) as raised:
            product_id_from(text)
        assert repr(text) in str(raised.value)


class TestTranslation:
    def test_product_query_sample(self) -> None:
        product = read_product(data_of("product_query_response.json"))
        assert product.pid == "2503190327561613000"
        assert product.name == "Men's T-shirt T-shirt Overalls"
        assert len(product.images) == 2
        black_m, black_l = product.variants
        assert black_m.vid == "1392053744945991680"  # a JSON number above 2^53, kept exact
        assert black_m.variant_sku == "CJNSTX1234567-Black-M"
        assert (black_m.weight_g, black_m.length_mm, black_m.height_mm) == (
            Decimal("190.5"), Decimal("300"), Decimal("20"),
        )  # fmt: skip
        assert black_m.sell_price == Decimal("6.5")
        # Numbers as strings, "" and null are read, not refused.
        assert (black_l.weight_g, black_l.length_mm, black_l.width_mm, black_l.height_mm) == (
            Decimal("210.00"), Decimal("310"), None, None,
        )  # fmt: skip
        assert black_l.sell_price == Decimal("7.10")
        assert product.option_key == "Color-Size"
        assert option_values(black_l.variant_key, option_names(product.option_key)) == [
            "Black", "L",
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("option_key", "variant_key", "values"),
        [
            ("Color-Size", "Black-XL", ["Black", "XL"]),
            ("Color", "Black", ["Black"]),
            (" Color - Size ", "Black - XL", ["Black", "XL"]),
            # CJ's own product/query sample: "Color" with "Black-XXL": not guessed at.
            ("Color", "Black-XXL", None),
            ("Color-Size", "Dark-Blue-XL", None),
            ("Color-Size", "Black", None),
            ("Color-Size", "Black-", None),
            ("Color-Color", "Black-XL", None),
            ("", "Black", None),
            (None, "Black", None),
            ("Color", None, None),
        ],
    )
    def test_a_variant_key_splits_only_one_part_per_option_name(
        self, option_key: str | None, variant_key: str | None, values: list[str] | None
    ) -> None:
        assert option_values(variant_key, option_names(option_key)) == values

    def test_variant_query_sample(self) -> None:
        [variant] = read_variants(data_of("product_variant_query_response.json"))
        assert variant.vid == "1392053744945991680"
        assert variant.variant_key == "Black-M"

    def test_image_set_as_json_text_and_weight_ranges(self) -> None:
        product = read_product({"pid": 1, "productImageSet": '["a.jpg","b.jpg"]', "variants": None})
        assert (product.images, product.variants) == (["a.jpg", "b.jpg"], [])
        [variant] = read_variants([{"vid": "V", "variantWeight": "10.00-50.00"}])
        assert variant.weight_g == Decimal("50.00")

    def test_inventory_by_pid_sample(self) -> None:
        stock = read_inventory(data_of("inventory_by_pid_response.json"))
        assert stock == {
            "1392053744945991680": {"US": 120},
            "92511400-C758-4474-93CA-66D442F5F787": {"CN": 800},  # cjInventory + factory
        }

    def test_stock_by_vid_sample(self) -> None:
        assert read_stock_rows(data_of("stock_query_by_vid_response.json")) == {"US": 120, "CN": 0}

    def test_unreadable_stock_answers_are_upstream_errors(self) -> None:
        with pytest.raises(CJUpstreamError):
            read_inventory({"inventories": []})
        with pytest.raises(CJUpstreamError):
            read_stock_rows({"vid": "V"})

    def test_unknown_product_sample_is_variant_not_found_with_its_code(self) -> None:
        with pytest.raises(CJVariantNotFound) as raised:
            unwrap(httpx.Response(200, json=sample("product_query_not_found_error.json")))
        assert raised.value.code == 1602001


class TestClient:
    async def test_product_variants_inventory_and_stock(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        product = cj_api.get("/product/query").respond(json=sample("product_query_response.json"))
        cj_api.get("/product/variant/query").respond(
            json=sample("product_variant_query_response.json")
        )
        cj_api.get("/product/variant/queryByVid").respond(json=ok({"vid": "V1", "pid": "P1"}))
        cj_api.get("/product/stock/getInventoryByPid").respond(
            json=sample("inventory_by_pid_response.json")
        )
        cj_api.get("/product/stock/queryByVid").respond(
            json=sample("stock_query_by_vid_response.json")
        )
        assert (await client.product("2503190327561613000")).name
        assert product.calls.last.request.url.params["pid"] == "2503190327561613000"
        assert len(await client.product_variants("2503190327561613000")) == 1
        assert (await client.variant("V1")).pid == "P1"
        assert "1392053744945991680" in await client.product_inventory("2503190327561613000")
        assert await client.variant_stock("1392053744945991680") == {"US": 120, "CN": 0}

    async def test_points_gone_stop_every_catalogue_call(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        body = {"code": 429, "result": False, "message": "Insufficient API points. Remaining: 0"}
        route = cj_api.get("/product/query").respond(status_code=429, json=body)
        with pytest.raises(CJPointsExhausted):
            await client.product("P1")
        with pytest.raises(CJPointsExhausted):
            await client.variant("V1")  # known gone: not even asked
        assert route.call_count == 1
