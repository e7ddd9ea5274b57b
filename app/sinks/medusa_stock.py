"""`MedusaStockSink` ("medusa_stock"): CJ's stock of a variant becomes the inventory level of
its Medusa inventory item at the store's stock location (`MEDUSA_STOCK_LOCATION_ID`).

It takes the catalogue events (`variant.stock_changed`, `variant.delisted`,
`variant.relisted`), never a fulfillment's; the figure is `app.medusa.inventory`'s.

Through Medusa 2.21's Admin API:
- `GET /admin/stock-locations/{id}` once per process: a 404 means the setting names no
  location (given up, with the setting named), since creating a level there would succeed.
- `GET /admin/inventory-items?sku=…` finds the inventory items of the event's SKUs with their
  `location_levels`.
- `POST /admin/inventory-items/location-levels/batch` with `update` for an item stocked at
  the location and `create` for one that is not yet (Medusa's update of a level that does
  not exist is a 404 "is not stocked at location"). Levels that already hold the figure
  are left alone (`already_done` when all do).

No inventory item for any of the SKUs (a variant with `manage_inventory` off, or one the
store does not sell) is given up at once, naming the SKUs. Other answers as the other
Medusa sinks: 401/403 retried as `auth_error`, other 4xx permanent, 408/409/429, 5xx and
network failures retried. Catalogue messages are one queue per sink, so an older figure
never overwrites a newer one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from app.medusa.inventory import BATCH_PATH, level_batch, stocked_quantity
from app.sinks.base import Delivery, DeliveryError, DeliveryOutcome, response_reason
from app.sinks.catalogue_event import CatalogueEvent
from app.sinks.medusa import MedusaSink, refusal
from app.sinks.notification import NotificationEvent


class MedusaStockSink(MedusaSink):
    name = "medusa_stock"
    events: frozenset[NotificationEvent] = frozenset()

    def __init__(
        self,
        base_url: str,
        secret_key: SecretStr,
        location_id: str,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url, secret_key, http=http)
        self._location_id = location_id
        self._location_known = False

    async def deliver(self, delivery: Delivery) -> DeliveryOutcome:
        data = CatalogueEvent.model_validate(delivery.payload).data
        if not data.skus:
            return DeliveryOutcome.skipped
        await self._check_location()
        items = await self._inventory_items(data.skus)
        if not items:
            raise DeliveryError(
                f"Medusa has no inventory item with SKU {', '.join(data.skus)}"[:300],
                permanent=True,
            )
        quantity = stocked_quantity(data.stock, data.listed)
        body = level_batch(items, self._location_id, dict.fromkeys(data.skus, quantity))
        if not body["create"] and not body["update"]:
            return DeliveryOutcome.already_done
        response = await self._api.post(BATCH_PATH, body)
        if response.is_success:
            return DeliveryOutcome.delivered
        raise refusal(response, response_reason(response))

    async def _check_location(self) -> None:
        if self._location_known:
            return
        path = f"/admin/stock-locations/{quote(self._location_id, safe='')}"
        response = await self._api.get(path, httpx.QueryParams({"fields": "id"}))
        if response.status_code == 404:
            raise DeliveryError(
                f"Medusa has no stock location {self._location_id} (MEDUSA_STOCK_LOCATION_ID)",
                permanent=True,
            )
        if not response.is_success:
            raise refusal(response, response_reason(response))
        self._location_known = True

    async def _inventory_items(self, skus: list[str]) -> list[dict[str, Any]]:
        params = httpx.QueryParams([("sku", sku) for sku in skus] + [("limit", len(skus))])
        response = await self._api.get("/admin/inventory-items", params)
        if not response.is_success:
            raise refusal(response, response_reason(response))
        try:
            items = response.json().get("inventory_items")
        except (ValueError, AttributeError) as exc:
            raise DeliveryError("Medusa's inventory items answer is not JSON") from exc
        if not isinstance(items, list):
            raise DeliveryError("Medusa's inventory items answer has no inventory_items")
        return [i for i in items if isinstance(i, dict) and i.get("sku") in skus]
