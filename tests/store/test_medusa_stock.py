"""The Medusa stock sink on the real Medusa 2.21 store: CJ's stock becomes the inventory
levels of two variants' inventory items at the store's stock location (one stocked there,
one not yet), a repeat writes nothing, a delisting is 0, and a stock location or SKU Medusa
does not have is given up. Run by run-store.sh (`make test-store`)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from app.sinks.base import Delivery, DeliveryError, DeliveryOutcome
from app.sinks.catalogue_event import EventType, VariantChange, catalogue_event_type
from app.sinks.medusa_stock import MedusaStockSink
from tests.store.store import Store, store_running
from tests.store.test_store_flows import store

pytestmark = pytest.mark.skipif(not store_running(), reason="no Medusa store (run-store.sh)")
__all__ = ["store"]


def deliver(
    store: Store,
    kind: EventType,
    skus: list[str],
    stock: dict[str, int],
    *,
    listed: bool = True,
    location: str | None = None,
) -> DeliveryOutcome:
    change = VariantChange("vid-x", "pid-x", skus, stock, {}, listed)
    event = change.event(kind, datetime.now(UTC))

    async def send() -> DeliveryOutcome:
        sink = MedusaStockSink(
            store.env["MEDUSA_URL"],
            SecretStr(store.env["MEDUSA_SECRET_KEY"]),
            location or store.env["STORE_LOCATION_ID"],
        )
        try:
            delivery = Delivery(1, catalogue_event_type(kind), event.model_dump(mode="json"))
            return await sink.deliver(delivery)
        finally:
            await sink.aclose()

    return asyncio.run(send())


def levels(store: Store, sku: str) -> dict[str, Any]:
    [item] = store.admin("GET", f"/admin/inventory-items?sku={sku}")["inventory_items"]
    return {lv["location_id"]: lv["stocked_quantity"] for lv in item["location_levels"]}


def managed_product(store: Store, skus: list[str]) -> None:
    store.admin(
        "POST",
        "/admin/products",
        {
            "title": f"Stock test {skus[0]}",
            "options": [{"title": "Size", "values": skus}],
            "shipping_profile_id": store.env["STORE_SHIPPING_PROFILE_ID"],
            "variants": [
                {
                    "title": sku,
                    "sku": sku,
                    "manage_inventory": True,
                    "options": {"Size": sku},
                    "prices": [{"currency_code": "usd", "amount": 10}],
                }
                for sku in skus
            ],
        },
    )


def test_cj_stock_becomes_the_levels_at_the_stores_location(store: Store) -> None:
    run = uuid.uuid4().hex[:6].upper()
    stocked, new = f"STK-{run}-A", f"STK-{run}-B"
    managed_product(store, [stocked, new])
    location = store.env["STORE_LOCATION_ID"]
    [item] = store.admin("GET", f"/admin/inventory-items?sku={stocked}")["inventory_items"]
    store.admin(
        "POST",
        f"/admin/inventory-items/{item['id']}/location-levels",
        {"location_id": location, "stocked_quantity": 5},
    )

    stock = {"CN": 30, "US": 12}
    assert deliver(store, "variant.stock_changed", [stocked, new], stock).value == "delivered"
    assert levels(store, stocked) == {location: 42}
    assert levels(store, new) == {location: 42}

    assert deliver(store, "variant.stock_changed", [stocked, new], stock).value == "already_done"

    deliver(store, "variant.delisted", [stocked], stock, listed=False)
    assert levels(store, stocked) == {location: 0}
    assert levels(store, new) == {location: 42}


def test_a_location_or_sku_medusa_does_not_have_is_given_up(store: Store) -> None:
    sku = store.env["STORE_VARIANT_SKU"]
    before = levels(store, sku)

    with pytest.raises(DeliveryError) as no_location:
        deliver(store, "variant.stock_changed", [sku], {"US": 1}, location="sloc_01NOPE")
    assert no_location.value.permanent
    assert "no stock location sloc_01NOPE" in no_location.value.reason

    with pytest.raises(DeliveryError) as no_item:
        deliver(store, "variant.stock_changed", ["NO-SUCH-SKU-STK"], {"US": 1})
    assert no_item.value.permanent
    assert no_item.value.reason == "Medusa has no inventory item with SKU NO-SUCH-SKU-STK"
    assert levels(store, sku) == before
