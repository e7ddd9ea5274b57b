"""Products from CJ: a product link (or pid) becomes a mapping for each of its variants.

Adding asks CJ three things (product/query, product/variant/query, and the stock of every
variant in one stock/getInventoryByPid: 30 points) at the catalogue's priority, below
checkout and orders, and only then writes, in one transaction: the product, each variant's
mapping (store SKU, vid, ship-from countries, weight, dimensions, price) and its stock.
A refusal or a failure before the commit leaves nothing behind; adding a product again
brings its mappings up to date (a variant CJ dropped loses its mapping).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.catalogue import CJProduct, CJVariant, NotAProductLink, product_id_from
from app.cj.client import CJClient
from app.cj.errors import CJError, CJPointsExhausted, CJUnavailable, CJVariantNotFound
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, Unprocessable, UpstreamUnavailable
from app.db.models import CatalogueProduct, SkuMapping
from app.db.repositories.catalogue import CatalogueRepository
from app.db.session import transaction
from app.services.store_skus import BadSkuRule, SkuRule, sku_problem

# CJ's codes for a product or variant taken off the shelves (API_FACTS §4.1).
OFF_SHELF_CODES = frozenset({1602002, 1602003})


class NotACJProduct(Unprocessable):
    type_slug = "not-a-cj-product-link"
    description = (
        "`not-a-cj-product-link`: not a CJ product URL (…/product/<name>-p-<pid>.html) or pid"
    )


class UnknownCJProduct(Unprocessable):
    type_slug = "unknown-cj-product"
    description = "`unknown-cj-product`: CJ does not know this product"


class DelistedCJProduct(Unprocessable):
    type_slug = "cj-product-delisted"
    description = "`cj-product-delisted`: CJ has taken this product off the shelves"


class SkuTaken(Conflict):
    type_slug = "sku-taken"
    description = "`sku-taken`: a store SKU is already mapped to another CJ variant"


class ProductNotAdded(NotFound):
    description = "No such product in the catalogue"


class CJPointsGone(UpstreamUnavailable):
    type_slug = "cj-points-exhausted"
    description = "`cj-points-exhausted`: CJ's API points for today are used up; nothing changed"


class CJNotAnswering(UpstreamUnavailable):
    description = "CJ could not be asked; nothing changed"


def pid_of(text: str) -> str:
    try:
        return product_id_from(text)
    except NotAProductLink as exc:
        raise NotACJProduct(str(exc)) from None


def cj_refusal(exc: CJError, asked: str) -> Exception:
    """The catalogue's error for a CJ failure while reading `asked` (a link, pid or vid)."""
    if isinstance(exc, CJPointsExhausted):
        seconds = max(int((exc.until - utcnow()).total_seconds()), 1)
        return CJPointsGone(
            f"CJ's API points for today are used up (until {exc.until:%Y-%m-%d %H:%M} UTC): "
            f"{asked} was not read; nothing changed",
            retry_after_seconds=seconds,
        )
    if isinstance(exc, CJVariantNotFound) and exc.code in OFF_SHELF_CODES:
        return DelistedCJProduct(f"CJ has taken {asked} off the shelves ({exc})")
    if isinstance(exc, CJVariantNotFound):
        return UnknownCJProduct(f"CJ does not know {asked} ({exc})")
    if isinstance(exc, CJUnavailable):
        return CJNotAnswering(
            f"CJ could not be asked about {asked} ({exc}); nothing changed", retry_after_seconds=5
        )
    return Unprocessable(f"CJ refused to read {asked}: {exc}")


def ship_from(stock: dict[str, int]) -> list[str]:
    """The countries whose warehouse holds the variant, the fullest first."""
    return [c for c, n in sorted(stock.items(), key=lambda item: (-item[1], item[0])) if n > 0]


@dataclass(frozen=True)
class MappedVariant:
    sku: str
    vid: str
    outcome: str  # added | updated | unchanged


@dataclass(frozen=True)
class AddedProduct:
    pid: str
    name: str
    variants: list[MappedVariant]
    removed_skus: list[str]


@dataclass(frozen=True)
class StoredProduct:
    product: CatalogueProduct
    mappings: list[SkuMapping]
    stock: dict[str, dict[str, int]]


@dataclass(frozen=True)
class ReadProduct:
    """What CJ said about one product, before anything is written."""

    product: CJProduct
    variants: list[CJVariant]
    stock: dict[str, dict[str, int]]


class ProductCatalogue:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], cj: CJClient) -> None:
        self._sessionmaker = sessionmaker
        self._cj = cj

    async def read(self, ref: str) -> ReadProduct:
        """Ask CJ about the product `ref` names (three calls); CJ errors in our words."""
        pid = pid_of(ref)
        try:
            product = await self._cj.product(pid)
            variants = await self._cj.product_variants(pid) or product.variants
            stock = await self._cj.product_inventory(pid)
        except CJError as exc:
            raise cj_refusal(exc, ref) from exc
        if not variants:
            raise UnknownCJProduct(f"CJ lists no variants for {ref}")
        return ReadProduct(product, variants, stock)

    async def add(self, ref: str, rule: SkuRule) -> AddedProduct:
        read = await self.read(ref)
        skus = {v.vid: rule.sku_for(read.product, v) for v in read.variants}
        _check_skus(skus)
        now = utcnow()
        async with transaction(self._sessionmaker) as session:
            repository = CatalogueRepository(session)
            product = read.product
            values: dict[str, object] = {
                "name": product.name or product.product_sku or product.pid,
                "product_sku": product.product_sku,
                "option_key": (product.option_key or "")[:255] or None,
                "description": product.description,
                "images": product.images or ([product.image] if product.image else []),
                "listed": True,
            }
            if ref.startswith("http"):
                # Added again by pid, a product keeps the link it was first added from.
                values["url"] = ref
            await repository.save_product(product.pid, values)
            before = {m.sku: m for m in await repository.mappings_of([product.pid])}
            mapped = []
            for variant in read.variants:
                sku = skus[variant.vid]
                taken = await repository.mapping(sku)
                if taken is not None and taken.vid != variant.vid:
                    raise SkuTaken(
                        f"SKU {sku} (for vid {variant.vid} of {ref}) is already mapped to vid "
                        f"{taken.vid}; remove that mapping or choose other SKUs; nothing changed"
                    )
                stock = read.stock.get(variant.vid, {})
                outcome = await repository.save_mapping(
                    sku, _mapping_values(product, variant, stock, now)
                )
                await repository.replace_stock(variant.vid, stock)
                mapped.append(MappedVariant(sku, variant.vid, outcome))
            stale = sorted(set(before) - set(skus.values()))
            await repository.delete_mappings(stale)
            kept = set(skus)
            await repository.delete_stock({before[s].vid for s in stale} - kept)
        return AddedProduct(product.pid, product.name or product.pid, mapped, stale)

    async def list(self) -> list[StoredProduct]:
        async with self._sessionmaker() as session:
            repository = CatalogueRepository(session)
            products = await repository.products()
            mappings = await repository.mappings_of([p.pid for p in products])
            stock = await repository.stock_of([m.vid for m in mappings])
        by_pid: dict[str, list[SkuMapping]] = {}
        for mapping in mappings:
            by_pid.setdefault(mapping.pid or "", []).append(mapping)
        return [StoredProduct(p, by_pid.get(p.pid, []), stock) for p in products]

    async def get(self, pid: str) -> StoredProduct:
        for stored in await self.list():
            if stored.product.pid == pid:
                return stored
        raise ProductNotAdded(f"No product {pid!r} in the catalogue.")

    async def remove(self, ref: str) -> StoredProduct:
        """Forget the product and its variants' mappings and stock."""
        pid = pid_of(ref)
        stored = await self.get(pid)
        async with transaction(self._sessionmaker) as session:
            repository = CatalogueRepository(session)
            await repository.delete_mappings([m.sku for m in stored.mappings])
            await repository.delete_stock([m.vid for m in stored.mappings])
            await repository.delete_product(pid)
        return stored


def _check_skus(skus: dict[str, str]) -> None:
    seen: dict[str, str] = {}
    for vid, sku in skus.items():
        problem = sku_problem(sku)
        if problem:
            raise BadSkuRule(f"the store SKU {sku!r} for vid {vid} {problem}")
        if sku in seen:
            raise BadSkuRule(
                f"vids {seen[sku]} and {vid} would both get the store SKU {sku}; "
                "use a template with {variant_key} or {vid}"
            )
        seen[sku] = vid


def _mapping_values(
    product: CJProduct, variant: CJVariant, stock: dict[str, int], now: datetime
) -> dict[str, object]:
    countries = ship_from(stock)
    return {
        "vid": variant.vid,
        "pid": product.pid,
        "cj_sku": variant.variant_sku,
        "variant_name": (variant.name or "")[:255] or None,
        "variant_key": (variant.variant_key or "")[:255] or None,
        "from_country": countries[0] if countries else None,
        "ship_from": countries,
        "weight_g": _cents(variant.weight_g),
        "length_mm": _cents(variant.length_mm),
        "width_mm": _cents(variant.width_mm),
        "height_mm": _cents(variant.height_mm),
        "sell_price": _cents(variant.sell_price),
        "listed": True,
        "checked_at": now,
    }


def _cents(value: Decimal | None) -> Decimal | None:
    return value.quantize(Decimal("0.01")) if value is not None else None
