"""CJ-first catalogue: the products in the catalogue become Medusa products (opt-in).

Each catalogue product (its stored mappings: store SKU, CJ's sell price, weight) becomes
one Medusa product whose `external_id` is the CJ pid, with CJ's options (Color, Size: its
`productKeyEn` and each variant's `variantKey`; one option `Variant` when those do not
fit) and a variant per mapped SKU, priced in each of the store's currencies at CJ's sell price plus
the markup, converted with the options file's exchange rates and rounded to the
currency's minor unit (whole yen for JPY). A second run finds the product by its pid and
changes only what differs; a dry run reads Medusa and writes nothing.

With stock sync on (`MEDUSA_STOCK_LOCATION_ID`), the variants manage their inventory in
Medusa (an inventory item each, no backorders; a variant imported before is switched), so
that the levels `MedusaStockResync` and the stock sink set at that location are what a
shopper can buy; the location is checked before anything is written.

Nothing is read from CJ: the prices are those `products add` stored (run it again for
CJ's current ones). Each product is written by one Medusa workflow per call (create; or
option values, product fields, variants), each all-or-nothing; a run stopped between two
calls leaves a product that the next run completes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.cj.catalogue import option_names, option_values
from app.core.errors import Unprocessable
from app.medusa.admin import MedusaProductsApi, MedusaRefused
from app.medusa.products import (
    OPTION_TITLE,
    ImportProduct,
    ImportVariant,
    MedusaProduct,
    create_body,
    is_handle_taken,
    own_handle,
    plan_update,
    read_product,
)
from app.services.catalogue import StoredProduct
from app.services.money import ExchangeRates, round_for


class StoreCurrencyWithoutRate(Unprocessable):
    type_slug = "unknown-currency"
    description = "`unknown-currency`: a store currency has no exchange rate"


@dataclass(frozen=True)
class ImportOutcome:
    pid: str
    title: str
    outcome: str  # created | updated | unchanged | failed
    changes: list[str]
    medusa_id: str | None = None
    notes: tuple[str, ...] = ()


def sell_price(
    usd: Decimal, markup_percent: Decimal, currency: str, rates: ExchangeRates
) -> Decimal:
    """CJ's USD sell price with the markup, in `currency`, rounded to its minor unit."""
    marked_up = usd * (1 + markup_percent / 100)
    code = currency.upper()
    return round_for(rates.convert(marked_up, "USD", code), code)


def import_product(
    stored: StoredProduct, currencies: list[str], markup_percent: Decimal, rates: ExchangeRates
) -> ImportProduct:
    """The Medusa product a catalogue product becomes; a variant without a price is left out."""
    product = stored.product
    titles: set[str] = set()
    kept = []
    for mapping in stored.mappings:
        if mapping.sell_price is None or mapping.listed is False:
            continue
        title = mapping.variant_name or mapping.cj_sku or mapping.sku
        if title in titles:
            title = f"{title} ({mapping.sku})"
        titles.add(title)
        kept.append((mapping, mapping.sell_price, title))
    names, values = cj_options(product.option_key, [m.variant_key for m, _p, _t in kept])
    variants = [
        ImportVariant(
            sku=mapping.sku,
            vid=mapping.vid,
            title=title,
            weight_g=mapping.weight_g,
            prices={code: sell_price(price, markup_percent, code, rates) for code in currencies},
            options=dict(zip(names, chosen, strict=True)) if names else {OPTION_TITLE: title},
        )
        for (mapping, price, title), chosen in zip(kept, values, strict=True)
    ]
    options = (
        [(name, list(dict.fromkeys(v[i] for v in values))) for i, name in enumerate(names)]
        if names
        else [(OPTION_TITLE, [v.title for v in variants])]
    )
    return ImportProduct(
        pid=product.pid,
        title=product.name,
        description=product.description,
        images=list(product.images or []),
        variants=variants,
        options=options,
    )


def cj_options(
    option_key: str | None, variant_keys: list[str | None]
) -> tuple[list[str], list[list[str]]]:
    """CJ's option names and each variant's values, when every variant's key splits
    against the names and no two variants share values; ([], [[]…]) otherwise (then the
    product gets one option, `Variant`)."""
    names = option_names(option_key)
    split = [option_values(key, names) for key in variant_keys]
    chosen = [v for v in split if v is not None]
    if not names or len(chosen) != len(split) or len({tuple(v) for v in chosen}) != len(chosen):
        return [], [[] for _key in variant_keys]
    return names, chosen


class SkusHeldElsewhere(Exception):
    """The product's SKUs are on Medusa products the import cannot take as its copy."""


def _holder(wanted: ImportProduct, held: list[MedusaProduct]) -> MedusaProduct | None:
    """The Medusa product made before the import that holds the product's SKUs."""
    skus = {v.sku for v in wanted.variants}
    holders = [p for p in held if skus & {v.sku for v in p.variants}]
    claimed = [p for p in holders if p.external_id]
    if claimed:
        raise SkusHeldElsewhere(
            f"its SKUs are on Medusa product {claimed[0].title} ({claimed[0].id}), which is "
            f"another's (external_id {claimed[0].external_id}); nothing changed"
        )
    if len(holders) > 1:
        names = ", ".join(f"{p.title} ({p.id})" for p in holders)
        raise SkusHeldElsewhere(
            f"its SKUs are on {len(holders)} Medusa products ({names}): keep them on one, "
            "or delete the others, and run again"
        )
    return holders[0] if holders else None


class MedusaImport:
    def __init__(
        self,
        api: MedusaProductsApi,
        rates: ExchangeRates,
        markup_percent: Decimal,
        *,
        manage_inventory: bool = False,
    ) -> None:
        self._api = api
        self._rates = rates
        self._markup = markup_percent
        self._manage_inventory = manage_inventory

    async def run(
        self,
        products: list[StoredProduct],
        *,
        dry_run: bool,
        each: Callable[[ImportOutcome], None],
    ) -> list[ImportOutcome]:
        """Import every product, telling `each` as it goes. A product Medusa refuses is
        `failed` with Medusa's reason and the others go on; a store currency without an
        exchange rate stops the run before anything is written."""
        currencies = await self._api.currencies()
        for code in currencies:
            try:
                self._rates.require(code)
            except Unprocessable as exc:
                raise StoreCurrencyWithoutRate(
                    f"the store sells in {code.upper()}: {exc.detail}; nothing imported"
                ) from None
        existing = {
            str(p.get("external_id")): read_product(p)
            for p in await self._api.products_by_external_id([s.product.pid for s in products])
        }
        others = [s for s in products if s.product.pid not in existing]
        held = [
            read_product(p)
            for p in await self._api.products_with_skus([m.sku for s in others for m in s.mappings])
        ]
        channels: list[str] | None = None
        profile: str | None = None
        outcomes = []
        for stored in products:
            wanted = import_product(stored, currencies, self._markup, self._rates)
            try:
                holder = existing.get(wanted.pid) or _holder(wanted, held)
                if holder is not None:
                    outcome = await self._update(wanted, holder, dry_run)
                elif dry_run:
                    outcome = ImportOutcome(
                        wanted.pid,
                        wanted.title,
                        "created",
                        [f"new product with {len(wanted.variants)} variants"],
                    )
                else:
                    if channels is None:
                        channels = await self._api.sales_channel_ids()
                        profile = await self._api.default_shipping_profile_id()
                    body = create_body(
                        wanted,
                        shipping_profile_id=profile,
                        sales_channel_ids=channels,
                        manage_inventory=self._manage_inventory,
                    )
                    outcome = await self._create(wanted, body)
            except (MedusaRefused, SkusHeldElsewhere) as exc:
                outcome = ImportOutcome(wanted.pid, wanted.title, "failed", [str(exc)])
            outcomes.append(outcome)
            each(outcome)
        return outcomes

    async def _create(self, wanted: ImportProduct, body: dict[str, Any]) -> ImportOutcome:
        """Create the product; when another product has its title's handle, once more with
        a handle of its own (a refused create leaves nothing: Medusa's workflow rolls back)."""
        changes = [f"new product with {len(wanted.variants)} variants"]
        try:
            created = await self._api.create_product(body)
        except MedusaRefused as exc:
            if not is_handle_taken(str(exc)):
                raise
            body["handle"] = own_handle(wanted)
            changes.append(f"handle {body['handle']} (another product has the title's)")
            created = await self._api.create_product(body)
        return ImportOutcome(wanted.pid, wanted.title, "created", changes, str(created["id"]))

    async def _update(
        self, wanted: ImportProduct, medusa_product: MedusaProduct, dry_run: bool
    ) -> ImportOutcome:
        plan = plan_update(wanted, medusa_product, manage_inventory=self._manage_inventory)
        kind = "updated" if plan.changes else "unchanged"
        if not dry_run:
            if plan.new_option_values:
                await self._api.add_option_values(medusa_product.id, plan.new_option_values)
            if plan.product_body:
                await self._api.update_product(medusa_product.id, plan.product_body)
            if plan.create or plan.update:
                await self._api.batch_variants(medusa_product.id, plan.create, plan.update)
        return ImportOutcome(
            wanted.pid, wanted.title, kind, plan.changes, medusa_product.id, tuple(plan.notes)
        )
