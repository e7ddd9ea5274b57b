"""The stock resync against a local server that checks Medusa 2.21's inventory routes and
payloads (tests/fixtures/medusa_inventory.py): the stored stock becomes the levels at the
store's location, fifty SKUs a step, and a second run writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from app.db.models import CatalogueProduct, SkuMapping
from app.medusa.admin import MedusaProductsApi
from app.services.catalogue import StoredProduct
from app.services.medusa_stock_resync import (
    MedusaStockResync,
    ResyncStep,
    UnknownStockLocation,
    quantities,
)
from tests.fixtures.medusa_inventory import INVENTORY_KEY, LOCATION, FakeInventory


def product(pid: str, stock: dict[str, dict[str, int]], *, listed: bool = True) -> StoredProduct:
    """A catalogue product whose SKUs are `stock`'s keys, each its own vid."""
    mappings = [
        SkuMapping(sku=sku, vid=f"vid-{sku}", pid=pid, listed=sku != "DELISTED") for sku in stock
    ]
    vids = {f"vid-{sku}": figures for sku, figures in stock.items()}
    return StoredProduct(CatalogueProduct(pid=pid, name=pid, listed=listed), mappings, vids)


@pytest.fixture
async def api(fake_inventory: FakeInventory) -> AsyncIterator[MedusaProductsApi]:
    client = MedusaProductsApi(fake_inventory.url, SecretStr(INVENTORY_KEY))
    yield client
    await client.aclose()


def test_a_figure_is_cj_stock_over_its_warehouses_and_0_while_delisted() -> None:
    products = [
        product("P1", {"TWO-WAREHOUSES": {"CN": 3, "US": 4}, "DELISTED": {"US": 9}}),
        product("P2", {"PRODUCT-DELISTED": {"US": 5}}, listed=False),
        product("P3", {"NEVER-READ": {}}),
    ]
    assert quantities(products) == {
        "TWO-WAREHOUSES": 7,
        "DELISTED": 0,
        "PRODUCT-DELISTED": 0,
        "NEVER-READ": 0,
    }


async def test_stored_stock_becomes_the_levels_and_a_second_run_writes_nothing(
    fake_inventory: FakeInventory, api: MedusaProductsApi
) -> None:
    fake_inventory.add_item("STOCKED", {LOCATION: 5, "sloc_OTHER": 2})
    fake_inventory.add_item("NEW-HERE")
    products = [product("P1", {"STOCKED": {"CN": 3, "US": 4}, "NEW-HERE": {"US": 11},
                               "NOT-IN-MEDUSA": {"US": 1}})]  # fmt: skip
    resync = MedusaStockResync(api, LOCATION)
    steps: list[ResyncStep] = []

    report = await resync.run(products, steps.append)

    assert fake_inventory.level("STOCKED") == 7
    assert fake_inventory.level("STOCKED", "sloc_OTHER") == 2
    assert fake_inventory.level("NEW-HERE") == 11
    assert (report.written, report.unchanged, report.missing) == (2, 0, ["NOT-IN-MEDUSA"])
    assert steps == [ResyncStep(skus=3, written=2, unchanged=0, missing=["NOT-IN-MEDUSA"])]

    writes = len(fake_inventory.writes)
    again = await resync.run(products, lambda _step: None)
    assert (again.written, again.unchanged) == (0, 2)
    assert len(fake_inventory.writes) == writes


async def test_a_long_catalogue_goes_fifty_skus_a_step(
    fake_inventory: FakeInventory, api: MedusaProductsApi
) -> None:
    skus = [f"SKU-{n:03d}" for n in range(120)]
    for sku in skus:
        fake_inventory.add_item(sku)
    products = [product("P1", {sku: {"US": n} for n, sku in enumerate(skus)})]
    steps: list[ResyncStep] = []

    await MedusaStockResync(api, LOCATION).run(products, steps.append)

    assert MedusaStockResync.steps(products) == 3
    assert [s.skus for s in steps] == [50, 50, 20]
    assert [fake_inventory.level(sku) for sku in skus] == list(range(120))


async def test_a_location_medusa_does_not_have_is_refused_naming_the_setting(
    api: MedusaProductsApi,
) -> None:
    with pytest.raises(UnknownStockLocation) as refused:
        await MedusaStockResync(api, "sloc_01NOPE").location()
    assert "sloc_01NOPE (MEDUSA_STOCK_LOCATION_ID)" in refused.value.detail
    assert await MedusaStockResync(api, LOCATION).location() == (LOCATION, [])
