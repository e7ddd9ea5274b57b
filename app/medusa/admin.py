"""The Admin API calls the catalogue import and the stock resync make, with the secret key
(HTTP Basic, as Medusa 2 takes a secret API key)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from app.core.errors import UpstreamUnavailable
from app.medusa.inventory import BATCH_PATH
from app.medusa.products import PRODUCT_FIELDS

_PER_QUERY = 50


class MedusaRefused(Exception):
    """Medusa answered a call with an error: its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Medusa answered {status}: {message}")
        self.status = status


class MedusaUnreachable(UpstreamUnavailable):
    description = "Medusa's Admin API could not be reached"


class MedusaProductsApi:
    def __init__(
        self, base_url: str, secret_key: SecretStr, *, http: httpx.AsyncClient | None = None
    ) -> None:
        self._http = http or httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=60, headers={"User-Agent": "cj-fulfillment"}
        )
        self._auth = {"Authorization": f"Basic {secret_key.get_secret_value()}"}
        self.requests_sent = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, path: str, *, params: Any = None, body: Any = None
    ) -> dict[str, Any]:
        self.requests_sent += 1
        try:
            response = await self._http.request(
                method, path, params=params, json=body, headers=self._auth
            )
        except httpx.HTTPError as exc:
            raise MedusaUnreachable(f"Medusa could not be reached ({exc!r})") from exc
        if not response.is_success:
            raise MedusaRefused(response.status_code, _message(response))
        data = response.json()
        return data if isinstance(data, dict) else {}

    async def currencies(self) -> list[str]:
        """The store's currencies, lower case, the default first."""
        stores = (await self._call("GET", "/admin/stores"))["stores"]
        supported = stores[0].get("supported_currencies") or [] if stores else []
        ordered = sorted(supported, key=lambda c: not c.get("is_default"))
        return [str(c["currency_code"]).lower() for c in ordered]

    async def sales_channel_ids(self) -> list[str]:
        channels = await self._call("GET", "/admin/sales-channels", params={"limit": 100})
        return [str(c["id"]) for c in channels["sales_channels"]]

    async def default_shipping_profile_id(self) -> str | None:
        profiles = (await self._call("GET", "/admin/shipping-profiles"))["shipping_profiles"]
        chosen = next((p for p in profiles if p.get("type") == "default"), None) or (
            profiles[0] if profiles else None
        )
        return str(chosen["id"]) if chosen else None

    async def products_by_external_id(self, external_ids: list[str]) -> list[dict[str, Any]]:
        found = []
        for chunk in _chunks(external_ids):
            data = await self._call(
                "GET",
                "/admin/products",
                params={"external_id[]": chunk, "fields": PRODUCT_FIELDS, "limit": 2 * len(chunk)},
            )
            found += data["products"]
        return found

    async def products_with_skus(self, skus: list[str]) -> list[dict[str, Any]]:
        """The products holding a variant with one of these SKUs."""
        ids: set[str] = set()
        for chunk in _chunks(skus):
            variants = await self._call(
                "GET",
                "/admin/product-variants",
                params={"sku[]": chunk, "fields": "id,sku,product_id", "limit": len(chunk)},
            )
            ids |= {str(v["product_id"]) for v in variants["variants"] if v.get("product_id")}
        found = []
        for chunk in _chunks(sorted(ids)):
            data = await self._call(
                "GET",
                "/admin/products",
                params={"id[]": chunk, "fields": PRODUCT_FIELDS, "limit": len(chunk)},
            )
            found += data["products"]
        return found

    async def create_product(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict((await self._call("POST", "/admin/products", body=body))["product"])

    async def update_product(self, product_id: str, body: dict[str, Any]) -> None:
        await self._call("POST", f"/admin/products/{quote(product_id, safe='')}", body=body)

    async def add_option_values(self, product_id: str, values: dict[str, list[str]]) -> None:
        """New values of the product's options, by option id (Medusa 2.17+: options are
        linked to products, `update[].add` objects are values to create)."""
        await self._call(
            "POST",
            f"/admin/products/{quote(product_id, safe='')}/options/batch",
            body={
                "update": [
                    {"product_option_id": option_id, "add": [{"value": v} for v in added]}
                    for option_id, added in values.items()
                ]
            },
        )

    async def batch_variants(
        self, product_id: str, create: list[dict[str, Any]], update: list[dict[str, Any]]
    ) -> None:
        await self._call(
            "POST",
            f"/admin/products/{quote(product_id, safe='')}/variants/batch",
            body={"create": create, "update": update},
        )

    async def stock_location(self, location_id: str) -> dict[str, Any] | None:
        """The stock location with its sales channels; None when Medusa has no such one."""
        try:
            answer = await self._call(
                "GET",
                f"/admin/stock-locations/{quote(location_id, safe='')}",
                params={"fields": "id,name,*sales_channels"},
            )
        except MedusaRefused as exc:
            if exc.status == 404:
                return None
            raise
        return dict(answer["stock_location"])

    async def inventory_items(self, skus: list[str]) -> list[dict[str, Any]]:
        """The inventory items with these SKUs, with their `location_levels`."""
        found = []
        for chunk in _chunks(skus):
            params = [("sku", sku) for sku in chunk] + [("limit", str(len(chunk)))]
            answer = await self._call("GET", "/admin/inventory-items", params=params)
            found += [i for i in answer["inventory_items"] if i.get("sku") in chunk]
        return found

    async def set_levels(self, body: dict[str, list[dict[str, Any]]]) -> None:
        await self._call("POST", BATCH_PATH, body=body)


def _chunks(values: list[str]) -> list[list[str]]:
    """Lists short enough for a query string (Node refuses a request head over 16 KB)."""
    return [values[i : i + _PER_QUERY] for i in range(0, len(values), _PER_QUERY)]


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:300]
    return response.text[:300]
