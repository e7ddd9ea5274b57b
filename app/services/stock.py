"""Whether CJ can ship a cart from an option's warehouse country, by the stock we know.

The stock per variant and warehouse country comes from adding the product and from the
stock poll (`StockPoller`); a mapping CJ has taken off the shelves is `listed = False`.
A variant whose stock was never read is not held back (checkout is never refused on a
guess). What is known is remembered per process for `cache_seconds`, as SKUs are, so
checkout pays no extra query per cart refresh.

Rates leave out an option whose warehouse country cannot ship the cart; when the caller
asked for that one option (Medusa does), or no option is left, the answer is a 422
`out-of-stock` naming each SKU, the country and what CJ holds there. A fulfillment is
refused the same way before anything is stored or sent to CJ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import Unprocessable
from app.db.models import SkuMapping, VariantStock
from app.services.skus import ResolvedItem

KNOWN_VARIANTS = 100_000


class OutOfStock(Unprocessable):
    type_slug = "out-of-stock"
    description = (
        "`out-of-stock`: CJ cannot ship an item from the option's warehouse country (its "
        "stock there is short, or CJ took it off the shelves); `out_of_stock` lists them"
    )

    def __init__(self, shortfalls: Sequence[Shortfall]) -> None:
        super().__init__(
            "CJ cannot ship this cart: " + "; ".join(s.text for s in shortfalls) + ".",
            extra={"out_of_stock": [s.public() for s in shortfalls]},
        )
        self.shortfalls = list(shortfalls)


@dataclass(frozen=True)
class Availability:
    """What we know of one variant: `listed` None or True unless CJ delisted it; `stock`
    per warehouse country, None when never read."""

    listed: bool
    stock: dict[str, int] | None


@dataclass(frozen=True)
class Shortfall:
    sku: str | None
    vid: str
    country: str
    wanted: int
    available: int
    delisted: bool

    @property
    def text(self) -> str:
        name = self.sku or self.vid
        if self.delisted:
            return f"CJ has taken {name} off the shelves"
        return f"{name}: {self.wanted} wanted, CJ's {self.country} warehouse holds {self.available}"

    def public(self) -> dict[str, object]:
        return {
            "sku": self.sku,
            "vid": self.vid,
            "country_code": self.country,
            "wanted": self.wanted,
            "available": self.available,
            "delisted": self.delisted,
        }


class StockGuard:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, cache_seconds: float = 60.0
    ) -> None:
        self._sessionmaker = sessionmaker
        self._known: TTLCache[str, Availability] = TTLCache(
            maxsize=KNOWN_VARIANTS, ttl=max(cache_seconds, 0.001)
        )
        self._cache = cache_seconds > 0

    async def availability(self, vids: Sequence[str]) -> dict[str, Availability]:
        wanted = list(dict.fromkeys(vids))
        found = {vid: self._known[vid] for vid in wanted if self._cache and vid in self._known}
        missing = [vid for vid in wanted if vid not in found]
        if missing:
            read = await self._read(missing)
            if self._cache:
                self._known.update(read)
            found.update(read)
        return found

    async def _read(self, vids: Sequence[str]) -> dict[str, Availability]:
        async with self._sessionmaker() as session:
            delisted = set(
                await session.scalars(
                    select(SkuMapping.vid).where(
                        SkuMapping.vid.in_(vids), SkuMapping.listed.is_(False)
                    )
                )
            )
            rows = await session.scalars(select(VariantStock).where(VariantStock.vid.in_(vids)))
            stock: dict[str, dict[str, int]] = {}
            for row in rows:
                stock.setdefault(row.vid, {})[row.country_code] = row.quantity
        return {vid: Availability(vid not in delisted, stock.get(vid)) for vid in vids}

    async def shortfalls(self, items: Sequence[ResolvedItem], country: str) -> list[Shortfall]:
        """What keeps CJ from shipping `items` from its warehouse in `country`."""
        known = await self.availability([item.vid for item in items])
        return shortfalls_of(items, country, known)

    async def require(self, items: Sequence[ResolvedItem], country: str) -> None:
        found = await self.shortfalls(items, country)
        if found:
            raise OutOfStock(found)


def shortfalls_of(
    items: Sequence[ResolvedItem], country: str, known: dict[str, Availability]
) -> list[Shortfall]:
    wanted: dict[str, int] = {}
    skus: dict[str, str | None] = {}
    for item in items:
        wanted[item.vid] = wanted.get(item.vid, 0) + item.quantity
        skus.setdefault(item.vid, item.sku)
    found = []
    for vid, quantity in wanted.items():
        availability = known.get(vid)
        if availability is None:
            continue
        if not availability.listed:
            found.append(Shortfall(skus[vid], vid, country, quantity, 0, delisted=True))
            continue
        if availability.stock is None:
            continue
        held = availability.stock.get(country, 0)
        if held < quantity:
            found.append(Shortfall(skus[vid], vid, country, quantity, held, delisted=False))
    return found
