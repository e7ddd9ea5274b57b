"""CJ's stock is what a shopper can buy, on the real Medusa 2.21 store: with
MEDUSA_STOCK_LOCATION_ID, `products medusa-import` creates the variants with managed
inventory and sets their levels at that location to the stored stock, so a variant CJ has
none of cannot go into a cart; after CJ restocks it, `products medusa-stock` sets the level
again and it sells, up to CJ's figure. Run by run-store.sh (`make test-store`).

Medusa's documentation says little of how a cart checks stock; the import follows its code
(core-flows: `createProductVariantsWorkflow` gives a variant with `manage_inventory` and no
`inventory_items` a default inventory item with its SKU; `prepareConfirmInventoryInput`
and `confirmInventoryStep` compare the quantity with stocked minus reserved at the stock
locations of the cart's sales channel, unless the variant allows backorders). This test is
what shows that reading holds on a real store.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.store.store import Store, store_running
from tests.store.test_medusa_import import cli, imported, medusa_import
from tests.store.test_store_flows import store

pytestmark = pytest.mark.skipif(not store_running(), reason="no Medusa store (run-store.sh)")
__all__ = ["store"]

TEE = "CJ-TEE"  # Color x Size, four variants, stocked in China; not seeded in the store
SOLD_OUT = "CJ-TEE-BLUE-M"
IN_STOCK = "CJ-TEE-GREEN-L"


def stock_env(store: Store) -> dict[str, str]:
    return {"MEDUSA_STOCK_LOCATION_ID": store.env["STORE_LOCATION_ID"]}


def level(store: Store, sku: str) -> int:
    [item] = store.admin("GET", f"/admin/inventory-items?sku={sku}")["inventory_items"]
    levels = {lv["location_id"]: lv["stocked_quantity"] for lv in item["location_levels"]}
    return int(levels[store.env["STORE_LOCATION_ID"]])


def add_to_cart(store: Store, variant_id: str, quantity: int = 1) -> tuple[int, Any]:
    cart = store.shop(
        "POST",
        "/store/carts",
        {
            "region_id": store.env["STORE_REGION_ID"],
            "sales_channel_id": store.env["STORE_SALES_CHANNEL_ID"],
        },
    )["cart"]
    response = store.shop_response(
        "POST",
        f"/store/carts/{cart['id']}/line-items",
        {"variant_id": variant_id, "quantity": quantity},
    )
    return response.status_code, response.json()


def test_an_out_of_stock_cj_variant_cannot_be_bought_until_cj_restocks_it(store: Store) -> None:
    catalog = store.sim("GET", "/_sim/catalog")
    [tee] = [p for p in catalog["products"] if p["sku"] == TEE]
    vids = {v["sku"]: v["vid"] for v in tee["variants"]}
    store.sim("POST", f"/_sim/variants/{vids[SOLD_OUT]}/stock", {"country_code": "CN",
              "quantity": 0})  # fmt: skip
    added = store.service("POST", "/v1/products", {"product": tee["pid"]})
    stored = {v["sku"]: sum(v["stock"].values()) for v in added["variants"]}
    assert stored[SOLD_OUT] == 0, added
    assert stored[IN_STOCK] > 0, added

    out = medusa_import(store, tee["pid"], env=stock_env(store))
    assert f"({tee['pid']}): created" in out[0], out
    assert any("stock: 4 SKUs, 4 levels set" in line for line in out), out
    [product] = imported(store, tee["pid"])
    variants = {v["sku"]: v for v in product["variants"]}
    assert all(v["manage_inventory"] and not v["allow_backorder"] for v in variants.values())
    assert {o["title"]: sorted(v["value"] for v in o["values"]) for o in product["options"]} == {
        "Color": ["Blue", "Green"],
        "Size": ["L", "M"],
    }
    assert {sku: level(store, sku) for sku in variants} == stored

    status, answer = add_to_cart(store, variants[SOLD_OUT]["id"])
    assert status == 400, answer
    assert "does not have the required inventory" in answer["message"], answer
    status, answer = add_to_cart(store, variants[IN_STOCK]["id"])
    assert status == 200, answer

    # A second import changes nothing and writes no level.
    out = medusa_import(store, tee["pid"], env=stock_env(store))
    assert f"({tee['pid']}): unchanged" in out[0], out
    assert any("0 levels set, 4 already right" in line for line in out), out

    # CJ restocks: the catalogue hears of it, the resync brings Medusa's level up.
    store.sim("POST", f"/_sim/variants/{vids[SOLD_OUT]}/stock", {"country_code": "CN",
              "quantity": 3})  # fmt: skip
    store.service("POST", "/v1/products", {"product": tee["pid"]})
    out = cli(store, "products", "medusa-stock", tee["pid"], env=stock_env(store))
    assert any("1 levels set, 3 already right" in line for line in out), out
    assert level(store, SOLD_OUT) == 3
    status, answer = add_to_cart(store, variants[SOLD_OUT]["id"], 4)
    assert status == 400, answer
    status, answer = add_to_cart(store, variants[SOLD_OUT]["id"], 3)
    assert status == 200, answer
