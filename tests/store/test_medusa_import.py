"""The CJ-first import on the real Medusa 2.21 store: a CJ product added to the service
becomes a Medusa product once, a second run updates it, and a shopper buys it with the CJ
shipping option and CJ gets the order. Run by run-store.sh (`make test-store`)."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.store.store import Store, store_running
from tests.store.test_store_flows import checkout, cj_orders_for, fulfil, only_fulfillment, store

pytestmark = pytest.mark.skipif(not store_running(), reason="no Medusa store (run-store.sh)")
__all__ = ["store"]

PRODUCT_SKU = "CJ-HOODIE"  # ships from the US, like the store's CJ option; not seeded


def cli(store: Store, *args: str, env: dict[str, str] | None = None) -> list[str]:
    """`cj-fulfillment ARGS…` on the store's service database; its stdout lines."""
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "ENVIRONMENT": "development",
        "DATABASE_URL": store.env["CJ_FULFILLMENT_DATABASE_URL"],
        "MEDUSA_URL": store.env["MEDUSA_URL"],
        "MEDUSA_SECRET_KEY": store.env["MEDUSA_SECRET_KEY"],
        **(env or {}),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cj-fulfillment"), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def medusa_import(store: Store, *args: str, env: dict[str, str] | None = None) -> list[str]:
    return cli(store, "products", "medusa-import", *args, env=env)


def imported(store: Store, pid: str) -> list[dict[str, Any]]:
    fields = (
        "id,title,external_id,*variants,*variants.prices,*variants.options,*options,*options.values"
    )
    answer = store.admin("GET", f"/admin/products?external_id={pid}&fields={fields}")
    return list(answer["products"])


def usd_price(variant: dict[str, Any]) -> Decimal:
    [usd] = [p for p in variant["prices"] if p["currency_code"] == "usd"]
    return Decimal(str(usd["amount"]))


def test_imported_once_updated_on_the_second_run_and_bought_through_cj(store: Store) -> None:
    catalog = store.sim("GET", "/_sim/catalog")
    [hoodie] = [p for p in catalog["products"] if p["sku"] == PRODUCT_SKU]
    pid = str(hoodie["pid"])
    added = store.service("POST", "/v1/products", {"product": pid})
    cj_price = {v["sku"]: Decimal(str(v["sell_price"])) for v in added["variants"]}

    out = medusa_import(store, pid, "--markup", "50")
    assert f"({pid}): created" in out[0], out
    [product] = imported(store, pid)
    variants = {v["sku"]: v for v in product["variants"]}
    assert set(variants) == set(cj_price)
    for sku, variant in variants.items():
        assert usd_price(variant) == (cj_price[sku] * Decimal("1.5")).quantize(Decimal("0.01"))
        [jpy] = [p for p in variant["prices"] if p["currency_code"] == "jpy"]
        assert Decimal(str(jpy["amount"])) == Decimal(str(jpy["amount"])).to_integral_value()

    # CJ's options (productKeyEn "Color-Size", variantKey "Grey-M") are Medusa's.
    options = {o["title"]: o for o in product["options"]}
    assert {t: sorted(v["value"] for v in o["values"]) for t, o in options.items()} == {
        "Color": ["Grey"],
        "Size": ["L", "M"],
    }
    titles = {o["id"]: t for t, o in options.items()}
    assert {
        sku: {titles[o["option_id"]]: o["value"] for o in v["options"]}
        for sku, v in variants.items()
    } == {
        "CJ-HOODIE-GREY-L": {"Color": "Grey", "Size": "L"},
        "CJ-HOODIE-GREY-M": {"Color": "Grey", "Size": "M"},
    }

    # The merchant deleted a variant and its size: the next run brings them back.
    gone_sku, gone = sorted(variants.items())[-1]
    store.admin("DELETE", f"/admin/products/{product['id']}/variants/{gone['id']}")
    size = options["Size"]
    [value] = [v["id"] for v in size["values"] if v["value"] == gone_sku.rsplit("-", 1)[1]]
    store.admin(
        "POST",
        f"/admin/products/{product['id']}/options/batch",
        {"update": [{"product_option_id": size["id"], "remove": [value]}]},
    )

    out = medusa_import(store, pid, "--markup", "80")
    assert f"({pid}): updated" in out[0], out
    assert f"  {gone_sku}: new variant" in out, out
    [again] = imported(store, pid)
    assert again["id"] == product["id"]
    assert {v["sku"] for v in again["variants"]} == set(cj_price)
    sku, variant = sorted({v["sku"]: v for v in again["variants"]}.items())[0]
    assert usd_price(variant) == (cj_price[sku] * Decimal("1.8")).quantize(Decimal("0.01"))

    order = checkout(store, variant["id"])
    [item] = order["items"]
    assert Decimal(str(item["unit_price"])) == usd_price(variant)
    response = fulfil(store, order)
    assert response.status_code == 200, response.text
    fulfillment = only_fulfillment(store, order)
    assert fulfillment["data"]["cj_order_id"]
    assert cj_orders_for(store, fulfillment["data"]["id"]) == 1
