"""Every flow a real store runs, on a real Medusa 2.21 store driven through its Admin and
Store HTTP APIs, with the CJ provider, the service and cjsim (started and seeded by
integrations/medusa-store/run-store.sh, which runs this module; `make test-store`).
Without that store (no STORE_ENV) the module is skipped."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.store.store import Store, load_store, store_running

pytestmark = pytest.mark.skipif(not store_running(), reason="no Medusa store (run-store.sh)")

US_ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address_1": "1 Main St",
    "city": "New York",
    "province": "NY",
    "postal_code": "10001",
    "country_code": "us",
    "phone": "+1 212 555 0100",
}


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    found = load_store()
    assert found is not None
    try:
        yield found
    finally:
        found.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.5)


CA_ADDRESS = {
    **US_ADDRESS,
    "address_1": "1 King St W",
    "city": "Toronto",
    "province": "ON",
    "postal_code": "M5H 1A1",
    "country_code": "ca",
    "phone": "+1 416 555 0100",
}
ALASKA_ADDRESS = {**US_ADDRESS, "city": "Anchorage", "province": "AK", "postal_code": "99501"}


def cart_with_item(
    store: Store,
    variant_id: str,
    quantity: int = 1,
    *,
    region: str = "STORE_REGION_ID",
    address: dict[str, str] = US_ADDRESS,
) -> dict[str, Any]:
    cart = store.shop(
        "POST",
        "/store/carts",
        {
            "region_id": store.env[region],
            "sales_channel_id": store.env["STORE_SALES_CHANNEL_ID"],
            "email": f"buyer-{uuid.uuid4().hex[:8]}@store.test",
            "items": [{"variant_id": variant_id, "quantity": quantity}],
        },
    )["cart"]
    updated = store.shop("POST", f"/store/carts/{cart['id']}", {"shipping_address": address})[
        "cart"
    ]
    return dict(updated)


def service_quote(
    store: Store,
    sku: str,
    quantity: int,
    currency: str = "USD",
    *,
    option: str = "STORE_CJ_OPTION_ID",
    address: dict[str, str] = US_ADDRESS,
) -> Decimal:
    """What the service quotes for the option, as the provider asks it."""
    answer = store.service(
        "POST",
        "/v1/rates",
        {
            "option_id": store.env[option],
            "destination": {
                "country_code": address["country_code"].upper(),
                "province": address["province"],
                "city": address["city"],
                "zip": address["postal_code"],
            },
            "items": [{"sku": sku, "quantity": quantity}],
            "currency": currency,
        },
    )
    [rate] = [r for r in answer["rates"] if r["option_id"] == store.env[option]]
    return Decimal(rate["amount"])


def checkout(
    store: Store,
    variant_id: str | None = None,
    quantity: int = 1,
    *,
    region: str = "STORE_REGION_ID",
    address: dict[str, str] = US_ADDRESS,
    shipping_option: str = "STORE_SHIPPING_OPTION_ID",
) -> dict[str, Any]:
    """A storefront checkout with a CJ option; returns the order."""
    cart = cart_with_item(
        store, variant_id or store.env["STORE_VARIANT_ID"], quantity, region=region, address=address
    )
    option_id = store.env[shipping_option]
    store.shop("POST", f"/store/carts/{cart['id']}/shipping-methods", {"option_id": option_id})
    collection = store.shop("POST", "/store/payment-collections", {"cart_id": cart["id"]})
    store.shop(
        "POST",
        f"/store/payment-collections/{collection['payment_collection']['id']}/payment-sessions",
        {"provider_id": "pp_system_default"},
    )
    completed = store.shop("POST", f"/store/carts/{cart['id']}/complete")
    assert completed["type"] == "order", completed
    return dict(completed["order"])


def fulfil(store: Store, order: dict[str, Any], **extra: Any) -> httpx.Response:
    items = [{"id": item["id"], "quantity": item["quantity"]} for item in order["items"]]
    return store.admin_response(
        "POST",
        f"/admin/orders/{order['id']}/fulfillments",
        {"items": items, "location_id": store.env["STORE_LOCATION_ID"], **extra},
    )


def fulfillments_of(store: Store, order_id: str) -> list[dict[str, Any]]:
    fields = ",".join(
        (
            "id",
            "fulfillments.id",
            "fulfillments.data",
            "fulfillments.shipped_at",
            "fulfillments.delivered_at",
            "fulfillments.canceled_at",
            "fulfillments.labels.*",
        )
    )
    order = store.admin("GET", f"/admin/orders/{order_id}?fields={fields}")["order"]
    return list(order["fulfillments"])


def only_fulfillment(store: Store, order: dict[str, Any]) -> dict[str, Any]:
    [fulfillment] = fulfillments_of(store, order["id"])
    return fulfillment


def cj_orders_for(store: Store, service_id: str) -> int:
    stats = store.sim("GET", "/_sim/stats")
    return int(stats["orders_by_number"].get(service_id, 0))


def cj_order_lines(store: Store, service_id: str) -> list[tuple[str, int]]:
    """The lines (the store's line item id, quantity) of the one CJ order placed for it."""
    [placed] = [
        o for o in store.sim("GET", "/_sim/orders")["orders"] if o["orderNumber"] == service_id
    ]
    return [(line["storeLineItemId"], line["quantity"]) for line in placed["productList"]]


def cj_data_when(
    store: Store, order_id: str, what: str, check: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """The `data` of the order's only fulfillment in Medusa, once `check` holds for it."""
    return dict(
        wait_for(
            what,
            lambda: (
                (data := only_fulfillment(store, {"id": order_id})["data"]) and check(data) and data
            ),
            timeout,
        )
    )


def new_lines(before: dict[str, Any], order_id: str, store: Store) -> list[dict[str, Any]]:
    """The order's lines that `before` (the order as it was) did not have."""
    known = {item["id"] for item in before["items"]}
    order = store.admin("GET", f"/admin/orders/{order_id}?fields=id,items.*")["order"]
    return [item for item in order["items"] if item["id"] not in known]


def fulfil_lines(store: Store, order_id: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Medusa's "Fulfill items" for those lines; the Medusa fulfillment it made."""
    before = {f["id"] for f in fulfillments_of(store, order_id)}
    store.admin(
        "POST",
        f"/admin/orders/{order_id}/fulfillments",
        {
            "items": [{"id": line["id"], "quantity": line["quantity"]} for line in lines],
            "location_id": store.env["STORE_LOCATION_ID"],
        },
    )
    [made] = [f for f in fulfillments_of(store, order_id) if f["id"] not in before]
    return made


def send_new_items(
    store: Store, kind: str, change_id: str, variant: str, quantity: int
) -> dict[str, Any]:
    """The outbound side of a claim or exchange (`kind`): new items of the variant, the CJ
    option as their shipping method, the request confirmed. Returns the shipping method
    the change's preview showed."""
    base = f"/admin/{kind}s/{change_id}"
    store.admin(
        "POST",
        f"{base}/outbound/items",
        {"items": [{"variant_id": store.env[variant], "quantity": quantity}]},
    )
    preview = store.admin(
        "POST",
        f"{base}/outbound/shipping-method",
        {"shipping_option_id": store.env["STORE_SHIPPING_OPTION_ID"]},
    )["order_preview"]
    [method] = [
        m
        for m in preview["shipping_methods"]
        if any(
            a["action"] == "SHIPPING_ADD"
            and a.get(f"{kind}_id") == change_id
            and not a.get("return_id")
            for a in m.get("actions") or []
        )
    ]
    store.admin("POST", f"{base}/request", {})
    return dict(method)


class TestCheckoutToDelivery:
    def test_checkout_prices_the_cj_option_as_the_service_quotes(self, store: Store) -> None:
        cart = cart_with_item(store, store.env["STORE_VARIANT_ID"], 2)
        option_id = store.env["STORE_SHIPPING_OPTION_ID"]
        priced = store.shop(
            "POST", f"/store/shipping-options/{option_id}/calculate", {"cart_id": cart["id"]}
        )["shipping_option"]
        quote = service_quote(store, store.env["STORE_VARIANT_SKU"], 2)
        assert Decimal(str(priced["amount"])) == quote
        assert quote > 0

        with_method = store.shop(
            "POST", f"/store/carts/{cart['id']}/shipping-methods", {"option_id": option_id}
        )["cart"]
        [method] = with_method["shipping_methods"]
        assert Decimal(str(method["amount"])) == quote

    def test_order_fulfil_ship_deliver(self, store: Store) -> None:
        order = checkout(store)
        response = fulfil(store, order)
        assert response.status_code == 200, response.text
        fulfillment = only_fulfillment(store, order)
        service_id = fulfillment["data"]["id"]
        assert fulfillment["data"]["status"] == "created"
        assert cj_orders_for(store, service_id) == 1
        cj_order_id = fulfillment["data"]["cj_order_id"]

        store.sim(
            "POST",
            f"/_sim/orders/{cj_order_id}/advance",
            {"status": "SHIPPED", "track_number": "YT2612345678"},
        )
        shipped = wait_for(
            "Medusa shows the shipment",
            lambda: (f := only_fulfillment(store, order))["shipped_at"] and f,
        )
        assert [label["tracking_number"] for label in shipped["labels"]] == ["YT2612345678"]

        store.sim("POST", f"/_sim/orders/{cj_order_id}/advance", {"status": "DELIVERED"})
        wait_for(
            "Medusa shows the delivery", lambda: only_fulfillment(store, order)["delivered_at"]
        )

    def test_cancel_deletes_the_cj_order(self, store: Store) -> None:
        order = checkout(store)
        assert fulfil(store, order).status_code == 200
        fulfillment = only_fulfillment(store, order)
        cancelled = store.admin(
            "POST", f"/admin/orders/{order['id']}/fulfillments/{fulfillment['id']}/cancel", {}
        )
        assert cancelled["order"]["id"] == order["id"]
        assert only_fulfillment(store, order)["canceled_at"]
        at_service = store.service("GET", f"/v1/fulfillments/{fulfillment['data']['id']}")
        assert at_service["status"] == "cancelled"


class TestAdminFlows:
    def test_editing_the_cj_shipping_option_as_the_dashboard_does(self, store: Store) -> None:
        option_id = store.env["STORE_SHIPPING_OPTION_ID"]
        option = store.admin("GET", f"/admin/shipping-options/{option_id}?fields=*rules,*type")[
            "shipping_option"
        ]

        def dashboard_edit(name: str, enabled_in_store: bool) -> dict[str, Any]:
            # The dashboard's edit form (location-service-zone-shipping-option-edit): no
            # `data`; the rules as they are, "enabled in store" set; the profile; the type.
            rules = [
                {key: rule[key] for key in ("id", "attribute", "operator", "value")}
                for rule in option["rules"]
            ]
            for rule in rules:
                if rule["attribute"] == "enabled_in_store":
                    rule["value"] = "true" if enabled_in_store else "false"
            body = {
                "name": name,
                "price_type": option["price_type"],
                "shipping_profile_id": option["shipping_profile_id"],
                "rules": rules,
                "type_id": option["type"]["id"],
            }
            return dict(
                store.admin("POST", f"/admin/shipping-options/{option_id}", body)["shipping_option"]
            )

        hidden = dashboard_edit("CJ US Standard (edited)", enabled_in_store=False)
        assert hidden["name"] == "CJ US Standard (edited)"
        cart = cart_with_item(store, store.env["STORE_VARIANT_ID"])
        offered = store.shop("GET", f"/store/shipping-options?cart_id={cart['id']}")
        assert option_id not in {o["id"] for o in offered["shipping_options"]}

        shown = dashboard_edit(option["name"], enabled_in_store=True)
        assert shown["name"] == option["name"]
        offered = store.shop("GET", f"/store/shipping-options?cart_id={cart['id']}")
        assert option_id in {o["id"] for o in offered["shipping_options"]}

    def test_a_draft_order_is_priced_with_the_cj_option(self, store: Store) -> None:
        # A variant without managed inventory: Medusa stores requires_shipping false.
        draft = store.admin(
            "POST",
            "/admin/draft-orders",
            {
                "email": "draft@store.test",
                "region_id": store.env["STORE_REGION_ID"],
                "sales_channel_id": store.env["STORE_SALES_CHANNEL_ID"],
                "shipping_address": US_ADDRESS,
                "billing_address": US_ADDRESS,
                "items": [{"variant_id": store.env["STORE_UNMANAGED_VARIANT_ID"], "quantity": 2}],
            },
        )["draft_order"]
        store.admin("POST", f"/admin/draft-orders/{draft['id']}/edit", {})
        preview = store.admin(
            "POST",
            f"/admin/draft-orders/{draft['id']}/edit/shipping-methods",
            {"shipping_option_id": store.env["STORE_SHIPPING_OPTION_ID"]},
        )["draft_order_preview"]
        [method] = preview["shipping_methods"]
        quote = service_quote(store, store.env["STORE_UNMANAGED_VARIANT_SKU"], 2)
        assert Decimal(str(method["amount"])) == quote
        store.admin("POST", f"/admin/draft-orders/{draft['id']}/edit/confirm", {})


class TestOrderEdits:
    def test_an_order_edit_ships_new_items_with_the_cj_option_at_the_admins_amount(
        self, store: Store
    ) -> None:
        # Medusa 2.21.2 never asks a provider to price an order edit's shipping method (the
        # workflow asks the Pricing Module, which has no price for a calculated option: a
        # 500 "reading 'calculated_amount'" without one); the admin gives the amount.
        order = checkout(store)
        store.admin("POST", "/admin/order-edits", {"order_id": order["id"]})
        try:
            store.admin(
                "POST",
                f"/admin/order-edits/{order['id']}/items",
                {"items": [{"variant_id": store.env["STORE_VARIANT_ID"], "quantity": 1}]},
            )
            preview = store.admin(
                "POST",
                f"/admin/order-edits/{order['id']}/shipping-method",
                {"shipping_option_id": store.env["STORE_SHIPPING_OPTION_ID"], "custom_amount": 5},
            )["order_preview"]
            store.admin("POST", f"/admin/order-edits/{order['id']}/request", {})
            store.admin("POST", f"/admin/order-edits/{order['id']}/confirm", {})
        except AssertionError:
            store.admin_response("DELETE", f"/admin/order-edits/{order['id']}")
            raise
        amounts = sorted(Decimal(str(m["amount"])) for m in preview["shipping_methods"])
        assert amounts == sorted([Decimal(str(order["shipping_methods"][0]["amount"])), Decimal(5)])

        added = new_lines(order, order["id"], store)
        assert [line["quantity"] for line in added] == [1]
        made = fulfil_lines(store, order["id"], added)
        assert made["data"]["status"] == "created"
        assert cj_order_lines(store, made["data"]["id"]) == [(added[0]["id"], 1)]


class TestClaimsAndExchanges:
    def test_a_claims_replacement_is_priced_with_the_cj_option_and_fulfilled_through_cj(
        self, store: Store
    ) -> None:
        order = checkout(store)
        assert fulfil(store, order).status_code == 200
        claim = store.admin("POST", "/admin/claims", {"type": "replace", "order_id": order["id"]})[
            "claim"
        ]
        [line] = order["items"]
        store.admin(
            "POST",
            f"/admin/claims/{claim['id']}/claim-items",
            {"items": [{"id": line["id"], "quantity": 1, "reason": "production_failure"}]},
        )
        method = send_new_items(store, "claim", claim["id"], "STORE_VARIANT_ID", 2)
        # Priced on the claim's own lines (two new tees), not the order's.
        assert Decimal(str(method["amount"])) == service_quote(
            store, store.env["STORE_VARIANT_SKU"], 2
        )

        [replacement] = new_lines(order, order["id"], store)
        assert replacement["quantity"] == 2
        made = fulfil_lines(store, order["id"], [replacement])
        assert made["data"]["status"] == "created"
        assert made["data"]["option_id"] == store.env["STORE_CJ_OPTION_ID"]
        assert cj_order_lines(store, made["data"]["id"]) == [(replacement["id"], 2)]

    def test_an_exchanges_new_item_is_priced_with_the_cj_option_and_fulfilled_through_cj(
        self, store: Store
    ) -> None:
        order = checkout(store)
        assert fulfil(store, order).status_code == 200
        exchange = store.admin("POST", "/admin/exchanges", {"order_id": order["id"]})["exchange"]
        [line] = order["items"]
        store.admin(
            "POST",
            f"/admin/exchanges/{exchange['id']}/inbound/items",
            {"items": [{"id": line["id"], "quantity": 1}]},
        )
        method = send_new_items(store, "exchange", exchange["id"], "STORE_UNMANAGED_VARIANT_ID", 1)
        assert Decimal(str(method["amount"])) == service_quote(
            store, store.env["STORE_UNMANAGED_VARIANT_SKU"], 1
        )

        [new_item] = new_lines(order, order["id"], store)
        made = fulfil_lines(store, order["id"], [new_item])
        assert made["data"]["status"] == "created"
        assert cj_order_lines(store, made["data"]["id"]) == [(new_item["id"], 1)]


class TestZeroDecimalCurrency:
    def test_a_jpy_cart_is_priced_in_whole_yen_and_its_order_fulfilled_through_cj(
        self, store: Store
    ) -> None:
        cart = cart_with_item(
            store,
            store.env["STORE_VARIANT_ID"],
            2,
            region="STORE_JPY_REGION_ID",
            address=CA_ADDRESS,
        )
        assert cart["currency_code"] == "jpy"
        option_id = store.env["STORE_JPY_SHIPPING_OPTION_ID"]
        priced = store.shop(
            "POST", f"/store/shipping-options/{option_id}/calculate", {"cart_id": cart["id"]}
        )["shipping_option"]
        quote = service_quote(
            store,
            store.env["STORE_VARIANT_SKU"],
            2,
            "JPY",
            option="STORE_JPY_CJ_OPTION_ID",
            address=CA_ADDRESS,
        )
        assert quote == quote.to_integral_value()
        assert quote > 0
        assert Decimal(str(priced["amount"])) == quote

        order = checkout(
            store,
            region="STORE_JPY_REGION_ID",
            address=CA_ADDRESS,
            shipping_option="STORE_JPY_SHIPPING_OPTION_ID",
        )
        [method] = order["shipping_methods"]
        assert Decimal(str(method["amount"])) == service_quote(
            store,
            store.env["STORE_VARIANT_SKU"],
            1,
            "JPY",
            option="STORE_JPY_CJ_OPTION_ID",
            address=CA_ADDRESS,
        )
        assert fulfil(store, order).status_code == 200
        fulfillment = only_fulfillment(store, order)
        assert fulfillment["data"]["status"] == "created"
        assert fulfillment["data"]["option_id"] == store.env["STORE_JPY_CJ_OPTION_ID"]


class TestCartUpdates:
    def test_a_quantity_change_reprices_the_cj_method(self, store: Store) -> None:
        cart = cart_with_item(store, store.env["STORE_VARIANT_ID"])
        option_id = store.env["STORE_SHIPPING_OPTION_ID"]
        store.shop("POST", f"/store/carts/{cart['id']}/shipping-methods", {"option_id": option_id})
        [line] = cart["items"]

        updated = store.shop(
            "POST", f"/store/carts/{cart['id']}/line-items/{line['id']}", {"quantity": 3}
        )["cart"]
        [method] = updated["shipping_methods"]
        assert Decimal(str(method["amount"])) == service_quote(
            store, store.env["STORE_VARIANT_SKU"], 3
        )

    def test_an_address_change_reprices_the_cj_method(self, store: Store) -> None:
        cart = cart_with_item(store, store.env["STORE_VARIANT_ID"])
        option_id = store.env["STORE_SHIPPING_OPTION_ID"]
        store.shop("POST", f"/store/carts/{cart['id']}/shipping-methods", {"option_id": option_id})
        to_ny = service_quote(store, store.env["STORE_VARIANT_SKU"], 1)
        to_alaska = service_quote(store, store.env["STORE_VARIANT_SKU"], 1, address=ALASKA_ADDRESS)
        assert to_alaska != to_ny

        updated = store.shop(
            "POST", f"/store/carts/{cart['id']}", {"shipping_address": ALASKA_ADDRESS}
        )["cart"]
        [method] = updated["shipping_methods"]
        assert Decimal(str(method["amount"])) == to_alaska


class TestCartsAreNeverBlocked:
    def test_a_cart_that_gains_an_unmapped_item_loses_the_cj_method(self, store: Store) -> None:
        cart = cart_with_item(store, store.env["STORE_VARIANT_ID"])
        option_id = store.env["STORE_SHIPPING_OPTION_ID"]
        store.shop("POST", f"/store/carts/{cart['id']}/shipping-methods", {"option_id": option_id})

        added = store.shop_response(
            "POST",
            f"/store/carts/{cart['id']}/line-items",
            {"variant_id": store.env["STORE_UNMAPPED_VARIANT_ID"], "quantity": 1},
        )
        assert added.status_code == 200, added.text
        assert added.json()["cart"]["shipping_methods"] == []
        assert len(added.json()["cart"]["items"]) == 2


class TestFulfilmentFaults:
    def test_a_fulfilment_while_cj_is_down_is_queued_and_placed_later(self, store: Store) -> None:
        order = checkout(store)
        store.sim("POST", "/_sim/config", {"mode": "down"})
        try:
            response = fulfil(store, order)
        finally:
            store.sim("POST", "/_sim/config", {"mode": "up"})
        assert response.status_code == 200, response.text
        fulfillment = only_fulfillment(store, order)
        assert fulfillment["data"]["status"] == "pending"
        service_id = fulfillment["data"]["id"]
        placed = wait_for(
            "the worker places the queued order at CJ",
            lambda: (
                (f := store.service("GET", f"/v1/fulfillments/{service_id}"))["cj_order_id"] and f
            ),
        )
        assert placed["status"] == "created"
        assert cj_orders_for(store, service_id) == 1
        # Issue 15: Medusa's own record shows the CJ order id within a minute.
        data = cj_data_when(
            store,
            order["id"],
            "Medusa's fulfillment data has the CJ order id",
            lambda d: d.get("cj_order_id") == placed["cj_order_id"],
            60,
        )
        assert data["status"] == "created"

    def test_a_queued_fulfilment_cj_refuses_shows_failed_with_cjs_reason(
        self, store: Store
    ) -> None:
        order = checkout(store)
        store.sim("POST", "/_sim/config", {"mode": "down"})
        try:
            response = fulfil(store, order)
            assert response.status_code == 200, response.text
            assert only_fulfillment(store, order)["data"]["status"] == "pending"
            # CJ comes back and refuses the order (seed 004 §1.1: 1600100 "Param error").
            store.sim(
                "POST",
                "/_sim/faults",
                {"endpoint": "createOrderV2", "kind": "code", "code": 1600100, "count": 5},
            )
        finally:
            store.sim("POST", "/_sim/config", {"mode": "up"})
        try:
            data = cj_data_when(
                store,
                order["id"],
                "Medusa's fulfillment data says failed",
                lambda d: d.get("status") == "failed",
                60,
            )
        finally:
            store.sim("DELETE", "/_sim/faults")
        assert "Param error" in (data.get("status_reason") or "")
        assert not data.get("cj_order_id")
        widget = store.admin("GET", f"/admin/cj-fulfillment/orders/{order['id']}")
        [card] = widget["fulfillments"]
        assert card["service"]["status"] == "failed"
        assert "Param error" in card["service"]["status_reason"]

    def test_a_retried_fulfilment_after_medusa_dropped_the_first_adopts_its_cj_order(
        self, store: Store
    ) -> None:
        order = checkout(store)
        # CJ creates the order but its answer hangs: the provider's two tries time out,
        # the provider throws, and Medusa deletes its fulfillment.
        store.sim("POST", "/_sim/config", {"hang_ms": 25000})
        store.sim(
            "POST", "/_sim/faults", {"endpoint": "createOrderV2", "kind": "timeout_after_commit"}
        )
        try:
            dropped = fulfil(store, order)
        finally:
            store.sim("DELETE", "/_sim/faults")
        assert dropped.status_code >= 400, dropped.text
        assert fulfillments_of(store, order["id"]) == []

        [accepted] = wait_for(
            "the service has the first fulfillment",
            lambda: store.service("GET", f"/v1/fulfillments?order_id={order['id']}")[
                "fulfillments"
            ],
        )
        retried = fulfil(store, order)
        assert retried.status_code == 200, retried.text
        fulfillment = only_fulfillment(store, order)
        assert fulfillment["data"]["id"] == accepted["id"]
        adopted = wait_for(
            "the adopted fulfillment has its CJ order",
            lambda: (
                (f := store.service("GET", f"/v1/fulfillments/{accepted['id']}"))["cj_order_id"]
                and f
            ),
        )
        assert adopted["external_id"] == fulfillment["id"]
        assert cj_orders_for(store, accepted["id"]) == 1
        assert len(store.sim("GET", "/_sim/orders")["orders"]) == len(
            {o["orderNumber"] for o in store.sim("GET", "/_sim/orders")["orders"]}
        )

    def test_fulfilling_through_a_cj_option_that_is_not_the_orders_method(
        self, store: Store
    ) -> None:
        order = checkout(store)
        other = store.admin(
            "POST",
            "/admin/shipping-options",
            {
                "name": f"CJ US Standard (admin only {uuid.uuid4().hex[:6]})",
                "service_zone_id": store.env["STORE_SERVICE_ZONE_ID"],
                "shipping_profile_id": store.env["STORE_SHIPPING_PROFILE_ID"],
                "provider_id": "cj_cj",
                "price_type": "calculated",
                "prices": [],
                "type": {"label": "Admin", "description": "CJ", "code": "cj-admin"},
                "data": {"id": store.env["STORE_CJ_OPTION_ID"]},
                "rules": [
                    {"attribute": "enabled_in_store", "value": "false", "operator": "eq"},
                    {"attribute": "is_return", "value": "false", "operator": "eq"},
                ],
            },
        )["shipping_option"]
        response = fulfil(store, order, shipping_option_id=other["id"])
        assert response.status_code == 200, response.text
        fulfillment = only_fulfillment(store, order)
        assert fulfillment["data"]["option_id"] == store.env["STORE_CJ_OPTION_ID"]
        assert cj_orders_for(store, fulfillment["data"]["id"]) == 1
