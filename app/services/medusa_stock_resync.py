"""The stored stock of every mapped variant into Medusa's inventory levels at the store's
stock location (`MEDUSA_STOCK_LOCATION_ID`), all at once: the first figures after an import,
or a repair after the sink gave some up.

The stock sink sends only changes; this sends what the catalogue holds now (as `products
add`, the stock poll and CJ's callbacks left it; nothing is read from CJ). SKUs go fifty
to a step: one read of their inventory items with their levels, one batch write of the
levels that differ (each batch one Medusa workflow, all-or-nothing). Levels already at
their figure are not written, so a second run after an interrupted one writes only what
the first did not reach. A SKU with no inventory item in Medusa (not imported, or its
variant does not manage inventory) is reported, never created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.errors import Unprocessable
from app.medusa.admin import MedusaProductsApi
from app.medusa.inventory import level_batch, stocked_quantity
from app.services.catalogue import StoredProduct

STEP = 50


class UnknownStockLocation(Unprocessable):
    type_slug = "unknown-stock-location"
    description = "`unknown-stock-location`: Medusa has no stock location with this id"


@dataclass(frozen=True)
class ResyncStep:
    skus: int
    written: int
    unchanged: int
    missing: list[str]


@dataclass
class ResyncReport:
    written: int = 0
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)


def quantities(products: list[StoredProduct]) -> dict[str, int]:
    """Each mapped SKU's figure: CJ's stock over its warehouses, 0 while delisted."""
    figures = {}
    for stored in products:
        for mapping in stored.mappings:
            listed = stored.product.listed is not False and mapping.listed is not False
            figures[mapping.sku] = stocked_quantity(stored.stock.get(mapping.vid, {}), listed)
    return figures


class MedusaStockResync:
    def __init__(self, api: MedusaProductsApi, location_id: str) -> None:
        self._api = api
        self._location_id = location_id

    async def location(self) -> tuple[str, list[str]]:
        """The location's name and the ids of its sales channels (a cart in a channel
        without a stock location cannot take a variant that manages inventory)."""
        location = await self._api.stock_location(self._location_id)
        if location is None:
            raise UnknownStockLocation(
                f"Medusa has no stock location {self._location_id} (MEDUSA_STOCK_LOCATION_ID)"
            )
        channels = [str(c["id"]) for c in location.get("sales_channels") or [] if c.get("id")]
        return str(location.get("name") or self._location_id), channels

    @staticmethod
    def steps(products: list[StoredProduct]) -> int:
        return -(-len(quantities(products)) // STEP)

    async def run(
        self, products: list[StoredProduct], each: Callable[[ResyncStep], None]
    ) -> ResyncReport:
        figures = quantities(products)
        skus = sorted(figures)
        report = ResyncReport()
        for start in range(0, len(skus), STEP):
            chunk = skus[start : start + STEP]
            items = await self._api.inventory_items(chunk)
            body = level_batch(items, self._location_id, {s: figures[s] for s in chunk})
            written = len(body["create"]) + len(body["update"])
            if written:
                await self._api.set_levels(body)
            found = {str(i.get("sku")) for i in items}
            step = ResyncStep(
                skus=len(chunk),
                written=written,
                unchanged=len(found & set(chunk)) - written,
                missing=[s for s in chunk if s not in found],
            )
            report.written += step.written
            report.unchanged += step.unchanged
            report.missing += step.missing
            each(step)
        return report
