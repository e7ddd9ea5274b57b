"""Seeds a new Medusa 2.21 store for CJ through its Admin API, every step a new store needs,
and appends what a test needs to drive it (KEY=VALUE lines) to the file named by argv[2].

    seed.py secret-key FILE   # the secret API key the service needs (before the service)
    seed.py store FILE        # everything else (the CJ option needs the service running)

Environment: MEDUSA_URL, ADMIN_EMAIL, ADMIN_PASSWORD, CJSIM_URL (for a SKU of the cjsim
catalogue that ships from where the CJ option does).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import httpx

MEDUSA_URL = os.environ["MEDUSA_URL"]
# Options the service lists (app/options.default.yaml): for the US, priced in USD, and for
# Canada, priced in JPY (a zero-decimal currency); and a SKU no mapping knows.
CJ_OPTION_ID = "us-standard"
JPY_CJ_OPTION_ID = "ca-standard"
UNMAPPED_SKU = "NOT-AT-CJ-1"


class Admin:
    def __init__(self) -> None:
        self.http = httpx.Client(base_url=MEDUSA_URL, timeout=60)
        token = self.call(
            "POST",
            "/auth/user/emailpass",
            {"email": os.environ["ADMIN_EMAIL"], "password": os.environ["ADMIN_PASSWORD"]},
        )["token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path} → {response.status_code}: {response.text[:800]}")
        return response.json()


def cj_skus(option: dict[str, Any]) -> list[str]:
    """Two SKUs of the cjsim catalogue that ship from where the option does."""
    variants = httpx.get(f"{os.environ['CJSIM_URL']}/_sim/catalog", timeout=10).json()["variants"]
    skus = [str(v["sku"]) for v in variants if v["from_country"] == option.get("from_country")]
    if len(skus) < 2:
        origin = option.get("from_country")
        raise SystemExit(f"cjsim has fewer than two SKUs shipping from {origin}")
    return skus[:2]


def product(
    admin: Admin,
    title: str,
    sku: str,
    *,
    profile: str,
    channel: str,
    manage_inventory: bool,
) -> dict[str, Any]:
    created = admin.call(
        "POST",
        "/admin/products",
        {
            "title": title,
            "status": "published",
            "shipping_profile_id": profile,
            "sales_channels": [{"id": channel}],
            "options": [{"title": "Size", "values": ["One size"]}],
            "variants": [
                {
                    "title": "One size",
                    "sku": sku,
                    "manage_inventory": manage_inventory,
                    "options": {"Size": "One size"},
                    "prices": [
                        {"currency_code": "usd", "amount": 25},
                        {"currency_code": "jpy", "amount": 3800},
                    ],
                }
            ],
        },
    )["product"]
    return dict(created["variants"][0])


def cj_shipping_option(
    admin: Admin, name: str, option: dict[str, Any], zone: str, profile: str
) -> dict[str, Any]:
    """A calculated CJ shipping option in the store, `data` as the provider listed it."""
    created = admin.call(
        "POST",
        "/admin/shipping-options",
        {
            "name": name,
            "service_zone_id": zone,
            "shipping_profile_id": profile,
            "provider_id": "cj_cj",
            "price_type": "calculated",
            "prices": [],
            "type": {"label": "Standard", "description": "Shipped by CJ", "code": "cj-standard"},
            "data": option,
            "rules": [
                {"attribute": "enabled_in_store", "value": "true", "operator": "eq"},
                {"attribute": "is_return", "value": "false", "operator": "eq"},
            ],
        },
    )["shipping_option"]
    return dict(created)


def secret_key(admin: Admin) -> dict[str, str]:
    secret = admin.call("POST", "/admin/api-keys", {"title": "cj-fulfillment", "type": "secret"})[
        "api_key"
    ]
    return {
        "MEDUSA_URL": MEDUSA_URL,
        "ADMIN_EMAIL": os.environ["ADMIN_EMAIL"],
        "ADMIN_PASSWORD": os.environ["ADMIN_PASSWORD"],
        "MEDUSA_SECRET_KEY": secret["token"],
    }


def store(admin: Admin) -> dict[str, str]:
    # Store currencies (USD, and JPY for the zero-decimal flows), sales channel.
    store = admin.call("GET", "/admin/stores")["stores"][0]
    admin.call(
        "POST",
        f"/admin/stores/{store['id']}",
        {
            "supported_currencies": [
                {"currency_code": "usd", "is_default": True},
                {"currency_code": "jpy"},
            ]
        },
    )
    channel = admin.call("GET", "/admin/sales-channels")["sales_channels"][0]["id"]

    # Region with the system payment provider.
    region = admin.call(
        "POST",
        "/admin/regions",
        {
            "name": "United States",
            "currency_code": "usd",
            "countries": ["us"],
            "payment_providers": ["pp_system_default"],
        },
    )["region"]
    jpy_region = admin.call(
        "POST",
        "/admin/regions",
        {
            "name": "Canada (JPY)",
            "currency_code": "jpy",
            "countries": ["ca"],
            "payment_providers": ["pp_system_default"],
        },
    )["region"]

    # Stock location: sales channel, fulfillment providers, a shipping fulfillment set
    # with a US service zone.
    location = admin.call(
        "POST",
        "/admin/stock-locations",
        {
            "name": "CJ US warehouse",
            "address": {"address_1": "1 Dock St", "city": "Newark", "country_code": "us"},
        },
    )["stock_location"]
    admin.call(
        "POST", f"/admin/stock-locations/{location['id']}/sales-channels", {"add": [channel]}
    )
    admin.call(
        "POST",
        f"/admin/stock-locations/{location['id']}/fulfillment-providers",
        {"add": ["cj_cj", "manual_manual"]},
    )
    with_set = admin.call(
        "POST",
        f"/admin/stock-locations/{location['id']}/fulfillment-sets?fields=id,*fulfillment_sets",
        {"name": "CJ US shipping", "type": "shipping"},
    )["stock_location"]
    fulfillment_set = with_set["fulfillment_sets"][0]
    zones = {}
    for name, country in (("United States", "us"), ("Canada", "ca")):
        service_zones = admin.call(
            "POST",
            f"/admin/fulfillment-sets/{fulfillment_set['id']}/service-zones",
            {"name": name, "geo_zones": [{"type": "country", "country_code": country}]},
        )["fulfillment_set"]["service_zones"]
        zones[country] = next(z for z in service_zones if z["name"] == name)
    zone = zones["us"]
    profile = admin.call("GET", "/admin/shipping-profiles")["shipping_profiles"][0]["id"]

    # The calculated CJ shipping options, from the provider's options.
    options = admin.call("GET", "/admin/fulfillment-providers/cj_cj/options")["fulfillment_options"]
    option = next(o for o in options if o["id"] == CJ_OPTION_ID)
    shipping_option = cj_shipping_option(admin, "CJ US Standard", option, zone["id"], profile)
    jpy_option = cj_shipping_option(
        admin,
        "CJ Canada Standard",
        next(o for o in options if o["id"] == JPY_CJ_OPTION_ID),
        zones["ca"]["id"],
        profile,
    )

    # Products: a CJ SKU with managed inventory (levels at the location), the same kind
    # without managed inventory (CJ holds the stock), and a SKU CJ does not know.
    sku, dropshipped_sku = cj_skus(option)
    managed = product(admin, "CJ tee", sku, profile=profile, channel=channel, manage_inventory=True)
    unmanaged = product(
        admin,
        "CJ cap (dropshipped)",
        dropshipped_sku,
        profile=profile,
        channel=channel,
        manage_inventory=False,
    )
    unmapped = product(
        admin, "Local mug", UNMAPPED_SKU, profile=profile, channel=channel, manage_inventory=False
    )
    # Medusa made the managed variant an inventory item with its SKU.
    [inventory_item] = admin.call("GET", f"/admin/inventory-items?sku={sku}")["inventory_items"]
    admin.call(
        "POST",
        f"/admin/inventory-items/{inventory_item['id']}/location-levels",
        {"location_id": location["id"], "stocked_quantity": 1000},
    )

    # The storefront's publishable key, linked to the sales channel.
    publishable = admin.call(
        "POST", "/admin/api-keys", {"title": "Storefront", "type": "publishable"}
    )["api_key"]
    admin.call("POST", f"/admin/api-keys/{publishable['id']}/sales-channels", {"add": [channel]})

    return {
        "MEDUSA_PUBLISHABLE_KEY": publishable["token"],
        "STORE_REGION_ID": region["id"],
        "STORE_JPY_REGION_ID": jpy_region["id"],
        "STORE_JPY_SHIPPING_OPTION_ID": jpy_option["id"],
        "STORE_JPY_CJ_OPTION_ID": JPY_CJ_OPTION_ID,
        "STORE_SALES_CHANNEL_ID": channel,
        "STORE_LOCATION_ID": location["id"],
        "STORE_SERVICE_ZONE_ID": zone["id"],
        "STORE_SHIPPING_PROFILE_ID": profile,
        "STORE_SHIPPING_OPTION_ID": shipping_option["id"],
        "STORE_CJ_OPTION_ID": CJ_OPTION_ID,
        "STORE_VARIANT_ID": managed["id"],
        "STORE_VARIANT_SKU": sku,
        "STORE_UNMANAGED_VARIANT_ID": unmanaged["id"],
        "STORE_UNMANAGED_VARIANT_SKU": dropshipped_sku,
        "STORE_UNMAPPED_VARIANT_ID": unmapped["id"],
    }


def main(phase: str, out_path: str) -> None:
    values = {"secret-key": secret_key, "store": store}[phase](Admin())
    with open(out_path, "a") as out:
        out.writelines(f"{key}={value}\n" for key, value in values.items())
    print(f"seeded ({phase}): {', '.join(values)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
