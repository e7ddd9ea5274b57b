"""Which CJ variant ships each item: its own `vid`, or the one mapped to its `sku`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import Unprocessable
from app.db.repositories.sku_mappings import SkuMappingRepository

KNOWN_SKUS = 100_000


@dataclass(frozen=True)
class ItemRef:
    """One item as a caller sent it."""

    sku: str | None
    vid: str | None
    quantity: int


@dataclass(frozen=True)
class ResolvedItem:
    sku: str | None
    vid: str
    quantity: int


class UnknownSkus(Unprocessable):
    type_slug = "unknown-sku"
    description = "`unknown-sku`: SKUs without a CJ variant mapping (`unknown_skus`)"

    def __init__(self, skus: Sequence[str]) -> None:
        unknown = list(dict.fromkeys(skus))
        super().__init__(
            f"Unknown SKU(s): {', '.join(unknown)}; "
            "map them with `cj-fulfillment skus import` or send `vid`",
            extra={"unknown_skus": unknown},
        )
        self.skus = unknown


class VariantResolver:
    """Known SKUs are remembered for `cache_seconds` (checkout prices every cart refresh,
    and a database round trip per SKU would dominate its cost), so a changed mapping takes
    effect within that time; an unknown SKU is looked up every time, so a new mapping
    counts at once."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, cache_seconds: float = 60.0
    ) -> None:
        self._sessionmaker = sessionmaker
        self._known: TTLCache[str, str] = TTLCache(maxsize=KNOWN_SKUS, ttl=cache_seconds)

    async def resolve(self, items: Sequence[ItemRef]) -> list[ResolvedItem]:
        """The CJ variant of every item, in order.

        An item's own `vid` wins; the others' SKUs are looked up in one query on a short
        read-only session of its own, so no caller's transaction is held open for it.
        Every unknown SKU is named at once, so one correction fixes the whole request.
        """
        for index, item in enumerate(items):
            if not item.vid and not item.sku:
                raise Unprocessable(
                    f"items[{index}] has neither `sku` nor `vid`; send one of them",
                    extra={"item_index": index},
                )
        wanted = list(dict.fromkeys(item.sku for item in items if not item.vid and item.sku))
        vids = {sku: self._known[sku] for sku in wanted if sku in self._known}
        missing = [sku for sku in wanted if sku not in vids]
        if missing:
            async with self._sessionmaker() as session:
                found = await SkuMappingRepository(session).vids_for(missing)
            self._known.update(found)
            vids.update(found)
        unknown = [sku for sku in wanted if sku not in vids]
        if unknown:
            raise UnknownSkus(unknown)
        return [ResolvedItem(item.sku, _vid_of(item, vids), item.quantity) for item in items]


def _vid_of(item: ItemRef, vids: dict[str, str]) -> str:
    if item.vid:
        return item.vid
    assert item.sku, "items without sku and vid are rejected before the lookup"
    return vids[item.sku]
