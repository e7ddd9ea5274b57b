"""CJ products as Medusa 2.x Admin API product payloads, and what differs from Medusa's copy.

No I/O. Shapes follow Medusa 2.21's validators (`@medusajs/medusa` api/admin/products):
`POST /admin/products` takes `options: [{title, values}]` and `variants: [{title, sku,
prices: [{currency_code, amount}], options: {title: value}, …}]`; since 2.16 a product update
takes no `options`, so an option value a new variant needs is added through
`POST /admin/products/{id}/options/batch` (`update: [{product_option_id, add: [{value}]}]`,
2.17+) first, and variants are created and updated
through `POST /admin/products/{id}/variants/batch`. Amounts are in the currency's main unit
(Medusa 2 stores 10.5 for $10.50). A product is Medusa's copy of a CJ product when its
`external_id` is the CJ pid, or, for a product made before the import (by hand, with the
mapped SKUs), the one product holding its SKUs; a variant is matched by SKU.

Options: one Medusa option per CJ option (Color, Size), each variant with its values, when
CJ's keys give them (`app.cj.catalogue.option_values`); otherwise one option `Variant`
whose values are the variants' names. An existing product's options are kept as they are
(Medusa has no way to move its variants to new options): a new variant takes values of
the product's options when their titles are CJ's, or the only option's value its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# The one option of a product whose CJ keys give no options; its values are the names.
OPTION_TITLE = "Variant"
# What the import reads back from Medusa to compare and to update.
PRODUCT_FIELDS = (
    "id,title,description,external_id,thumbnail,*images,*options,*options.values,"
    "*variants,*variants.prices,*variants.options"
)


@dataclass(frozen=True)
class ImportVariant:
    sku: str
    vid: str
    title: str
    weight_g: Decimal | None
    prices: dict[str, Decimal]  # lower-case currency code -> amount
    options: dict[str, str]  # option title -> value


@dataclass(frozen=True)
class ImportProduct:
    pid: str
    title: str
    description: str | None
    images: list[str]
    variants: list[ImportVariant]
    options: list[tuple[str, list[str]]]  # (title, values) in CJ's order


@dataclass(frozen=True)
class MedusaOption:
    id: str
    title: str
    values: list[str]


@dataclass(frozen=True)
class MedusaVariant:
    id: str
    sku: str | None
    title: str | None
    weight: Decimal | None
    prices: dict[str, Decimal]  # the prices without rules, by lower-case currency code
    options: dict[str, str]  # option title -> value
    price_entries: list[dict[str, Any]] = field(default_factory=list)
    manage_inventory: bool = False


@dataclass(frozen=True)
class MedusaProduct:
    id: str
    external_id: str | None
    title: str | None
    description: str | None
    images: list[str]
    options: list[MedusaOption]
    variants: list[MedusaVariant]


@dataclass
class Plan:
    """What an import changes on one Medusa product (nothing: `changes` is empty)."""

    product_body: dict[str, Any] | None = None
    new_option_values: dict[str, list[str]] = field(default_factory=dict)  # option id -> values
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the import cannot do there


def _number(amount: Decimal) -> int | float:
    """A JSON number for Medusa: an integer when whole (JPY), else the decimal's float."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _prices(variant: ImportVariant) -> list[dict[str, Any]]:
    return [
        {"currency_code": code, "amount": _number(amount)}
        for code, amount in variant.prices.items()
    ]


def _variant_fields(variant: ImportVariant) -> dict[str, Any]:
    return {
        "title": variant.title,
        "sku": variant.sku,
        "weight": _number(variant.weight_g) if variant.weight_g is not None else None,
        "prices": _prices(variant),
        "metadata": {"cj_vid": variant.vid},
    }


def _inventory(managed: bool) -> dict[str, Any]:
    """A variant's inventory settings. Managed (stock sync on): Medusa's create and update
    workflows give it a default inventory item with its SKU (core-flows
    `createDefaultInventoryItem`), whose level at the stock location the stock resync and
    the stock sink set, and no backorders, so Medusa sells no more than CJ holds. Not
    managed: Medusa sells without counting (CJ's stock is checked at rates and fulfilment)."""
    return (
        {"manage_inventory": True, "allow_backorder": False}
        if managed
        else {"manage_inventory": False}
    )


def create_body(
    product: ImportProduct,
    *,
    shipping_profile_id: str | None,
    sales_channel_ids: list[str],
    manage_inventory: bool = False,
) -> dict[str, Any]:
    """`POST /admin/products`: published, in the store's sales channels."""
    body: dict[str, Any] = {
        "title": product.title,
        "description": product.description,
        "external_id": product.pid,
        "status": "published",
        "images": [{"url": url} for url in product.images],
        "thumbnail": product.images[0] if product.images else None,
        "metadata": {"cj_pid": product.pid},
        "options": [{"title": title, "values": values} for title, values in product.options],
        "variants": [
            {
                **_variant_fields(variant),
                **_inventory(manage_inventory),
                "options": variant.options,
            }
            for variant in product.variants
        ],
        "sales_channels": [{"id": channel} for channel in sales_channel_ids],
    }
    if shipping_profile_id:
        body["shipping_profile_id"] = shipping_profile_id
    return body


def is_handle_taken(message: str) -> bool:
    """Medusa's answer when a product's handle (by default made from its title) is taken:
    "Product with handle: cotton-t-shirt, already exists."."""
    return "with handle:" in message and "already exists" in message


def own_handle(product: ImportProduct) -> str:
    """A handle of the product's own when another product has the title's: Medusa's
    `toHandle` of the title, then the pid's last eight characters."""
    slug = re.sub(r"[^\w\s-]", "", product.title.lower().replace("ß", "ss"))
    slug = re.sub(r"-+", "-", re.sub(r"[\s_]+", "-", slug)).strip("-")
    return f"{slug}-{product.pid[-8:].lower()}".strip("-")


def read_product(data: dict[str, Any]) -> MedusaProduct:
    """Medusa's product (read with PRODUCT_FIELDS) in the import's terms."""
    options = [
        MedusaOption(
            id=str(o["id"]),
            title=str(o.get("title")),
            values=[str(v["value"]) for v in o.get("values") or [] if isinstance(v, dict)],
        )
        for o in data.get("options") or []
        if isinstance(o, dict)
    ]
    titles = {o.id: o.title for o in options}
    variants = []
    for raw in data.get("variants") or []:
        values = {
            titles[str(v.get("option_id"))]: str(v.get("value"))
            for v in raw.get("options") or []
            if isinstance(v, dict) and str(v.get("option_id")) in titles
        }
        prices: dict[str, Decimal] = {}
        for price in raw.get("prices") or []:
            amount = _decimal(price.get("amount"))
            if amount is not None and not price.get("rules") and price.get("currency_code"):
                prices[str(price["currency_code"]).lower()] = amount
        variants.append(
            MedusaVariant(
                id=str(raw["id"]),
                sku=raw.get("sku"),
                title=raw.get("title"),
                weight=_decimal(raw.get("weight")),
                prices=prices,
                options=values,
                price_entries=[p for p in raw.get("prices") or [] if isinstance(p, dict)],
                manage_inventory=raw.get("manage_inventory") is True,
            )
        )
    return MedusaProduct(
        id=str(data["id"]),
        external_id=data.get("external_id"),
        title=data.get("title"),
        description=data.get("description"),
        images=[str(i["url"]) for i in data.get("images") or [] if isinstance(i, dict)],
        options=options,
        variants=variants,
    )


def plan_update(
    product: ImportProduct, medusa: MedusaProduct, *, manage_inventory: bool = False
) -> Plan:
    """The calls that bring Medusa's product to the CJ product, and what they change.

    Medusa's variants the catalogue does not know are left alone; so are prices in other
    currencies than the store's and prices with rules (a region's). With `manage_inventory`
    (stock sync on) a variant Medusa does not count stock for is switched to counting;
    without it, a variant's inventory setting is left as it is."""
    plan = Plan()
    product_body: dict[str, Any] = {}
    if medusa.external_id != product.pid:
        product_body["external_id"] = product.pid
        plan.changes.append(f"adopted: its SKUs are this product's (external_id {product.pid})")
    if medusa.title != product.title:
        product_body["title"] = product.title
        plan.changes.append("title")
    if (medusa.description or None) != (product.description or None):
        product_body["description"] = product.description
        plan.changes.append("description")
    if medusa.images != product.images:
        product_body["images"] = [{"url": url} for url in product.images]
        product_body["thumbnail"] = product.images[0] if product.images else None
        plan.changes.append("images")
    plan.product_body = product_body or None
    wanted = [title for title, _values in product.options]
    have = [o.title for o in medusa.options]
    if set(have) != set(wanted) and wanted != [OPTION_TITLE] and medusa.variants:
        plan.notes.append(
            f"options {', '.join(have) or 'none'} kept (CJ's are {', '.join(wanted)}; Medusa "
            "cannot move variants to other options: delete the product and import it again)"
        )
    by_sku = {v.sku: v for v in medusa.variants if v.sku}
    for variant in product.variants:
        existing = by_sku.get(variant.sku)
        if existing is None:
            chosen = _new_variant_options(variant, medusa.options)
            if chosen is None:
                plan.notes.append(
                    f"{variant.sku}: not added (the Medusa product's options are not CJ's and "
                    "are several: add the variant in Medusa)"
                )
                continue
            for option in medusa.options:
                value = chosen[option.title]
                added = plan.new_option_values.setdefault(option.id, [])
                if value not in option.values and value not in added:
                    added.append(value)
            plan.new_option_values = {k: v for k, v in plan.new_option_values.items() if v}
            plan.create.append(
                {
                    **_variant_fields(variant),
                    **_inventory(manage_inventory),
                    "options": chosen,
                }
            )
            plan.changes.append(f"{variant.sku}: new variant")
            continue
        changed = _variant_changes(variant, existing)
        body: dict[str, Any] = {"id": existing.id}
        if changed:
            body |= _variant_fields(variant)
            body["prices"] = _merged_prices(variant, existing)
        if manage_inventory and not existing.manage_inventory:
            body |= _inventory(True)
            changed.append("inventory managed")
        if changed:
            plan.update.append(body)
            plan.changes.append(f"{variant.sku}: {', '.join(changed)}")
    return plan


def _new_variant_options(
    variant: ImportVariant, options: list[MedusaOption]
) -> dict[str, str] | None:
    """A new variant's value of each of the product's options: CJ's, when the titles are
    CJ's; the variant's name, when the product has one option of other title; else None."""
    if {o.title for o in options} == set(variant.options):
        return dict(variant.options)
    if len(options) == 1:
        return {options[0].title: variant.title}
    return None


def _merged_prices(variant: ImportVariant, existing: MedusaVariant) -> list[dict[str, Any]]:
    """The variant's whole price list: Medusa replaces a variant's prices with the list
    sent, so every price it has is sent back by id, the store currencies' at the new amount."""
    prices: list[dict[str, Any]] = []
    done = set()
    for entry in existing.price_entries:
        code = str(entry.get("currency_code") or "").lower()
        kept: dict[str, Any] = {"id": entry.get("id"), "currency_code": code}
        if code in variant.prices and not entry.get("rules") and code not in done:
            kept["amount"] = _number(variant.prices[code])
            done.add(code)
        else:
            kept["amount"] = entry.get("amount")
            for name in ("min_quantity", "max_quantity"):
                if entry.get(name) is not None:
                    kept[name] = entry[name]
            if entry.get("rules"):
                kept["rules"] = entry["rules"]
        prices.append(kept)
    prices += [
        {"currency_code": code, "amount": _number(amount)}
        for code, amount in variant.prices.items()
        if code not in done
    ]
    return prices


def _variant_changes(variant: ImportVariant, existing: MedusaVariant) -> list[str]:
    changed = []
    if existing.title != variant.title:
        changed.append("title")
    if existing.weight != variant.weight_g:
        changed.append("weight")
    for code, amount in variant.prices.items():
        before = existing.prices.get(code)
        if before != amount:
            changed.append(f"{code.upper()} {before if before is not None else '-'} -> {amount}")
    return changed
