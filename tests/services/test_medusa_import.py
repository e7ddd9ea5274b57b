"""The CJ-first import against a Medusa Admin API that checks Medusa 2.21's payloads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from app.db.models import CatalogueProduct, SkuMapping
from app.medusa.admin import MedusaProductsApi
from app.services.catalogue import StoredProduct
from app.services.medusa_import import (
    ImportOutcome,
    MedusaImport,
    StoreCurrencyWithoutRate,
    sell_price,
)
from app.services.money import ExchangeRates
from tests.fixtures.medusa_admin import SECRET_KEY, FakeMedusa

RATES = ExchangeRates({"USD": Decimal(1), "JPY": Decimal("151.37"), "EUR": Decimal("0.92")})
PID = "2503190327561613000"


def tshirt(*prices: str, name: str = "Cotton T-Shirt") -> StoredProduct:
    product = CatalogueProduct(
        pid=PID,
        name=name,
        description="<p>Soft cotton</p>",
        images=["https://cf.cjdropshipping.com/a.jpg", "https://cf.cjdropshipping.com/b.jpg"],
        listed=True,
    )
    mappings = [
        SkuMapping(
            sku=f"CJ-TSHIRT-{size}",
            vid=f"vid-{size}",
            pid=PID,
            cj_sku=f"CJ-TSHIRT-{size}",
            variant_name=f"Cotton T-Shirt {size}",
            weight_g=Decimal("180.00"),
            sell_price=Decimal(price),
            listed=True,
        )
        for size, price in zip(("S", "M", "L"), prices, strict=False)
    ]
    return StoredProduct(product, mappings, {})


def tees(*keys: str, option_key: str | None = "Color-Size") -> StoredProduct:
    """A CJ product with CJ's options: one variant per variantKey."""
    product = CatalogueProduct(pid=PID, name="Tee", images=[], listed=True, option_key=option_key)
    mappings = [
        SkuMapping(sku=f"TEE-{key}", vid=f"vid-{key}", pid=PID, variant_name=f"Tee {key}",
                   variant_key=key, sell_price=Decimal("3.00"), listed=True)
        for key in keys
    ]  # fmt: skip
    return StoredProduct(product, mappings, {})


def option_values_of(product: dict[str, Any]) -> dict[str, list[str]]:
    return {o["title"]: [v["value"] for v in o["values"]] for o in product["options"]}


def variant_options(product: dict[str, Any]) -> dict[str, dict[str, str]]:
    titles = {o["id"]: o["title"] for o in product["options"]}
    return {
        v["sku"]: {titles[o["option_id"]]: o["value"] for o in v["options"]}
        for v in product["variants"]
    }


async def run(
    medusa: FakeMedusa,
    products: list[StoredProduct],
    *,
    markup: str = "50",
    dry_run: bool = False,
    rates: ExchangeRates = RATES,
    manage_inventory: bool = False,
) -> list[ImportOutcome]:
    api = MedusaProductsApi(medusa.url, SecretStr(SECRET_KEY))
    try:
        return await MedusaImport(
            api, rates, Decimal(markup), manage_inventory=manage_inventory
        ).run(products, dry_run=dry_run, each=lambda _outcome: None)
    finally:
        await api.aclose()


def prices_of(variant: dict[str, Any]) -> dict[str, Any]:
    return {p["currency_code"]: p["amount"] for p in variant["prices"] if not p.get("rules")}


def test_prices_are_marked_up_converted_and_rounded_per_currency() -> None:
    assert sell_price(Decimal("2.10"), Decimal(50), "usd", RATES) == Decimal("3.15")
    # 3.15 USD is 476.8155 yen: whole yen.
    assert sell_price(Decimal("2.10"), Decimal(50), "jpy", RATES) == Decimal(477)
    assert sell_price(Decimal("2.10"), Decimal(0), "eur", RATES) == Decimal("1.93")


async def test_a_first_run_creates_the_product_in_medusas_shape(fake_medusa: FakeMedusa) -> None:
    [outcome] = await run(fake_medusa, [tshirt("4.20", "4.20", "5.00")])

    assert outcome.outcome == "created"
    product = fake_medusa.by_external_id(PID)
    assert outcome.medusa_id == product["id"]
    assert product["title"] == "Cotton T-Shirt"
    assert product["description"] == "<p>Soft cotton</p>"
    assert product["status"] == "published"
    assert [i["url"] for i in product["images"]] == [
        "https://cf.cjdropshipping.com/a.jpg",
        "https://cf.cjdropshipping.com/b.jpg",
    ]
    assert product["thumbnail"] == "https://cf.cjdropshipping.com/a.jpg"
    assert product["sales_channels"] == [{"id": "sc_default"}]
    assert product["shipping_profile_id"] == "sp_default"
    assert [o["title"] for o in product["options"]] == ["Variant"]
    by_sku = {v["sku"]: v for v in product["variants"]}
    assert set(by_sku) == {"CJ-TSHIRT-S", "CJ-TSHIRT-M", "CJ-TSHIRT-L"}
    large = by_sku["CJ-TSHIRT-L"]
    assert prices_of(large) == {"usd": 7.5, "jpy": 1135}  # 7.50 USD; 1135.275 yen
    assert isinstance(prices_of(large)["jpy"], int)
    assert large["weight"] == 180
    assert large["manage_inventory"] is False
    assert large["metadata"] == {"cj_vid": "vid-L"}
    assert large["options"][0]["value"] == "Cotton T-Shirt L"


async def test_cj_options_become_medusa_options_with_each_variants_values(
    fake_medusa: FakeMedusa,
) -> None:
    await run(fake_medusa, [tees("Black-S", "Black-M", "White-M")])

    product = fake_medusa.by_external_id(PID)
    assert option_values_of(product) == {"Color": ["Black", "White"], "Size": ["S", "M"]}
    assert variant_options(product) == {
        "TEE-Black-S": {"Color": "Black", "Size": "S"},
        "TEE-Black-M": {"Color": "Black", "Size": "M"},
        "TEE-White-M": {"Color": "White", "Size": "M"},
    }

    # CJ adds White-L: one new value (L) on Size, none on Color, and the variant.
    [outcome] = await run(fake_medusa, [tees("Black-S", "Black-M", "White-M", "White-L")])
    assert outcome.changes == ["TEE-White-L: new variant"]
    product = fake_medusa.by_external_id(PID)
    assert option_values_of(product) == {"Color": ["Black", "White"], "Size": ["S", "M", "L"]}
    assert variant_options(product)["TEE-White-L"] == {"Color": "White", "Size": "L"}


@pytest.mark.parametrize(
    ("option_key", "keys"),
    [
        ("Color", ("Black-XXL", "White-XXL")),  # CJ's own sample: one name, two parts
        ("Color-Size", ("Black-M", "Black")),  # one variant's key does not fit
        ("Color-Size", ("Black-M", "Black-M ")),  # two variants, the same values
        (None, ("Black-M", "White-M")),  # CJ named no options
    ],
)
async def test_keys_that_do_not_fit_give_one_variant_option(
    fake_medusa: FakeMedusa, option_key: str | None, keys: tuple[str, ...]
) -> None:
    await run(fake_medusa, [tees(*keys, option_key=option_key)])

    product = fake_medusa.by_external_id(PID)
    assert option_values_of(product) == {"Variant": [f"Tee {key}" for key in keys]}


async def test_a_product_imported_with_the_variant_option_keeps_it(
    fake_medusa: FakeMedusa,
) -> None:
    await run(fake_medusa, [tees("Black-S", "Black-M", option_key=None)])

    [outcome] = await run(fake_medusa, [tees("Black-S", "Black-M", "White-M")])

    assert "TEE-White-M: new variant" in outcome.changes
    assert any(n.startswith("options Variant kept (CJ's are Color, Size") for n in outcome.notes)
    product = fake_medusa.by_external_id(PID)
    assert option_values_of(product) == {"Variant": ["Tee Black-S", "Tee Black-M", "Tee White-M"]}


async def test_with_stock_sync_the_variants_manage_inventory_without_backorders(
    fake_medusa: FakeMedusa,
) -> None:
    await run(fake_medusa, [tshirt("4.20", "4.20")])
    product = fake_medusa.by_external_id(PID)
    assert [v["manage_inventory"] for v in product["variants"]] == [False, False]

    [outcome] = await run(fake_medusa, [tshirt("4.20", "4.20", "5.00")], manage_inventory=True)

    assert "CJ-TSHIRT-S: inventory managed" in outcome.changes
    assert "CJ-TSHIRT-L: new variant" in outcome.changes
    variants = fake_medusa.by_external_id(PID)["variants"]
    assert all(v["manage_inventory"] and v["allow_backorder"] is False for v in variants)
    [again] = await run(fake_medusa, [tshirt("4.20", "4.20", "5.00")], manage_inventory=True)
    assert again.outcome == "unchanged"
    # Stock sync off again: Medusa's setting is left as it is.
    [off] = await run(fake_medusa, [tshirt("4.20", "4.20", "5.00")])
    assert off.outcome == "unchanged"


async def test_a_second_run_changes_nothing_and_writes_nothing(fake_medusa: FakeMedusa) -> None:
    await run(fake_medusa, [tshirt("4.20", "4.20", "5.00")])
    writes = list(fake_medusa.writes)

    [outcome] = await run(fake_medusa, [tshirt("4.20", "4.20", "5.00")])

    assert (outcome.outcome, outcome.changes) == ("unchanged", [])
    assert fake_medusa.writes == writes
    assert len(fake_medusa.products) == 1


async def test_a_rerun_updates_prices_and_title_and_adds_a_new_variant(
    fake_medusa: FakeMedusa,
) -> None:
    await run(fake_medusa, [tshirt("4.20", "4.20")])
    product = fake_medusa.by_external_id(PID)
    small = next(v for v in product["variants"] if v["sku"] == "CJ-TSHIRT-S")
    region_price = {"id": "price_region", "currency_code": "usd", "amount": 9}
    region_price["rules"] = {"region_id": "reg_1"}
    small["prices"].append(region_price)

    [outcome] = await run(fake_medusa, [tshirt("4.80", "4.20", "5.00", name="Cotton T-Shirt 2026")])

    assert outcome.outcome == "updated"
    assert "title" in outcome.changes
    assert "CJ-TSHIRT-L: new variant" in outcome.changes
    assert any(c.startswith("CJ-TSHIRT-S: USD 6.3 -> 7.20") for c in outcome.changes)
    assert len(fake_medusa.products) == 1
    product = fake_medusa.by_external_id(PID)
    assert product["title"] == "Cotton T-Shirt 2026"
    by_sku = {v["sku"]: v for v in product["variants"]}
    assert prices_of(by_sku["CJ-TSHIRT-S"]) == {"usd": 7.2, "jpy": 1090}
    assert region_price["id"] in {p["id"] for p in by_sku["CJ-TSHIRT-S"]["prices"]}
    assert prices_of(by_sku["CJ-TSHIRT-M"]) == {"usd": 6.3, "jpy": 954}
    assert prices_of(by_sku["CJ-TSHIRT-L"]) == {"usd": 7.5, "jpy": 1135}
    assert [v["value"] for v in product["options"][0]["values"]][-1] == "Cotton T-Shirt L"

    [again] = await run(fake_medusa, [tshirt("4.80", "4.20", "5.00", name="Cotton T-Shirt 2026")])
    assert again.outcome == "unchanged"


async def test_a_dry_run_says_what_would_change_and_writes_nothing(
    fake_medusa: FakeMedusa,
) -> None:
    [created] = await run(fake_medusa, [tshirt("4.20")], dry_run=True)
    assert (created.outcome, created.changes) == ("created", ["new product with 1 variants"])
    assert fake_medusa.products == {}

    await run(fake_medusa, [tshirt("4.20")])
    writes = list(fake_medusa.writes)
    [updated] = await run(fake_medusa, [tshirt("4.20")], markup="100", dry_run=True)
    assert updated.outcome == "updated"
    assert updated.changes == ["CJ-TSHIRT-S: USD 6.3 -> 8.40, JPY 954 -> 1272"]
    assert fake_medusa.writes == writes


async def test_a_store_currency_without_an_exchange_rate_stops_before_any_write(
    fake_medusa: FakeMedusa,
) -> None:
    fake_medusa.currencies = ["usd", "gbp"]
    with pytest.raises(StoreCurrencyWithoutRate, match="GBP"):
        await run(fake_medusa, [tshirt("4.20")])
    assert fake_medusa.writes == []


async def test_a_product_medusa_refuses_fails_alone(fake_medusa: FakeMedusa) -> None:
    hoodie = tshirt("9.00")
    hoodie.product.pid = "HOODIE"
    hoodie.mappings[0].sku = "CJ-HOODIE-S"
    fake_medusa.refusals.append(
        (400, "Variant (Cotton T-Shirt S) with provided options already exists.")
    )

    outcomes = await run(fake_medusa, [tshirt("4.20"), hoodie])

    assert [o.outcome for o in outcomes] == ["failed", "created"]
    assert outcomes[0].changes == [
        "Medusa answered 400: Variant (Cotton T-Shirt S) with provided options already exists."
    ]
    assert [p["external_id"] for p in fake_medusa.products.values()] == ["HOODIE"]


async def made_by_hand(medusa: FakeMedusa, sku: str, external_id: str | None = None) -> str:
    """A product the merchant made in Medusa before the import, as seed.py makes them."""
    api = MedusaProductsApi(medusa.url, SecretStr(SECRET_KEY))
    body: dict[str, Any] = {
        "title": "My tee",
        "options": [{"title": "Size", "values": ["One size"]}],
        "variants": [
            {
                "title": "One size",
                "sku": sku,
                "options": {"Size": "One size"},
                "prices": [{"currency_code": "usd", "amount": 25}],
            }
        ],
    }
    if external_id:
        body["external_id"] = external_id
    try:
        return str((await api.create_product(body))["id"])
    finally:
        await api.aclose()


async def test_a_product_made_by_hand_with_the_skus_is_adopted_not_duplicated(
    fake_medusa: FakeMedusa,
) -> None:
    by_hand = await made_by_hand(fake_medusa, "CJ-TSHIRT-S")

    [outcome] = await run(fake_medusa, [tshirt("4.20", "4.20")])

    assert (outcome.outcome, outcome.medusa_id) == ("updated", by_hand)
    assert outcome.changes[0] == f"adopted: its SKUs are this product's (external_id {PID})"
    assert "CJ-TSHIRT-M: new variant" in outcome.changes
    assert list(fake_medusa.products) == [by_hand]
    product = fake_medusa.products[by_hand]
    assert product["external_id"] == PID
    by_sku = {v["sku"]: v for v in product["variants"]}
    assert prices_of(by_sku["CJ-TSHIRT-S"]) == {"usd": 6.3, "jpy": 954}
    # The new variant takes a value of the product's own option.
    assert by_sku["CJ-TSHIRT-M"]["options"][0]["value"] == "Cotton T-Shirt M"
    assert [v["value"] for v in product["options"][0]["values"]] == [
        "One size",
        "Cotton T-Shirt M",
    ]

    [again] = await run(fake_medusa, [tshirt("4.20", "4.20")])
    assert (again.outcome, again.changes) == ("unchanged", [])


async def test_skus_on_another_imports_product_are_refused_and_nothing_changes(
    fake_medusa: FakeMedusa,
) -> None:
    theirs = await made_by_hand(fake_medusa, "CJ-TSHIRT-S", external_id="shopify-123")
    writes = list(fake_medusa.writes)

    [outcome] = await run(fake_medusa, [tshirt("4.20")])

    assert outcome.outcome == "failed"
    assert f"({theirs}), which is another's (external_id shopify-123)" in outcome.changes[0]
    assert fake_medusa.writes == writes


async def test_a_title_another_product_has_gets_a_handle_of_its_own(
    fake_medusa: FakeMedusa,
) -> None:
    await made_by_hand(fake_medusa, "MY-OWN-TEE")  # "My tee": handle my-tee
    mine = tshirt("4.20", name="My Tee!")

    [outcome] = await run(fake_medusa, [mine])

    assert outcome.outcome == "created"
    assert outcome.changes[1] == "handle my-tee-61613000 (another product has the title's)"
    assert fake_medusa.by_external_id(PID)["handle"] == "my-tee-61613000"


async def test_many_products_are_looked_up_fifty_a_query(fake_medusa: FakeMedusa) -> None:
    await run(fake_medusa, [tshirt("4.20")])
    api = MedusaProductsApi(fake_medusa.url, SecretStr(SECRET_KEY))
    try:
        found = await api.products_by_external_id([f"pid-{n}" for n in range(119)] + [PID])
    finally:
        await api.aclose()
    assert [p["external_id"] for p in found] == [PID]
    assert api.requests_sent == 3
