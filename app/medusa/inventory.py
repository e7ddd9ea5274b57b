"""CJ's stock as Medusa 2.21 inventory levels at one stock location, no I/O.

A variant's figure is its stock summed over CJ's warehouses, 0 while CJ has it off the
shelves. It is Medusa's `stocked_quantity`, so Medusa's own reservations (orders placed,
not yet fulfilled) still come off what it sells. Medusa's add-to-cart and checkout
(core-flows `prepareConfirmInventoryInput`, `confirmInventoryStep`) refuse a variant with
`manage_inventory` and without `allow_backorder` once the quantity wanted is more than
stocked minus reserved at the stock locations of the cart's sales channel.
"""

from __future__ import annotations

from typing import Any

# Medusa's AdminBatchInventoryItemLevels route.
BATCH_PATH = "/admin/inventory-items/location-levels/batch"


def stocked_quantity(stock: dict[str, int], listed: bool) -> int:
    return sum(max(n, 0) for n in stock.values()) if listed else 0


def level_batch(
    items: list[dict[str, Any]], location_id: str, quantities: dict[str, int]
) -> dict[str, list[dict[str, Any]]]:
    """The batch body setting each item's level at `location_id` to its SKU's figure in
    `quantities`: `update` for an item stocked there, `create` for one not yet (Medusa's
    update of a missing level is a 404 "is not stocked at location"). Items already at
    their figure, and items whose SKU is not in `quantities`, are left out."""
    body: dict[str, list[dict[str, Any]]] = {"create": [], "update": []}
    for item in items:
        quantity = quantities.get(str(item.get("sku")))
        if quantity is None:
            continue
        levels = [
            level
            for level in item.get("location_levels") or []
            if isinstance(level, dict) and level.get("location_id") == location_id
        ]
        if levels and levels[0].get("stocked_quantity") == quantity:
            continue
        body["update" if levels else "create"].append(
            {"inventory_item_id": item["id"], "location_id": location_id,
             "stocked_quantity": quantity}
        )  # fmt: skip
    return body
