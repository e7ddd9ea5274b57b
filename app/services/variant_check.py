"""Asking CJ whether variants exist (product/variant/queryByVid, 10 points each).

CJ has no call that checks many vids at once, so vids are checked one request each, in
batches (the caller saves or reports each batch), paced to `CATALOGUE_QPS_SHARE` of the
account's QPS (a pacer shared through Redis) and at the catalogue's priority in the
rate limiter, so checkout, orders and polling keep their requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from app.cj.catalogue import CJVariant
from app.cj.client import CJClient
from app.cj.errors import CJError, CJVariantNotFound
from app.core.clock import utcnow
from app.services.catalogue import OFF_SHELF_CODES, cj_refusal
from app.services.tracking_readback import PollPacer

BATCH_SIZE = 20
PACER_KEY = "catalogue:slot"


class VariantState(StrEnum):
    listed = "listed"
    delisted = "delisted"
    unknown = "unknown"


@dataclass(frozen=True)
class VariantCheck:
    vid: str
    state: VariantState
    variant: CJVariant | None
    checked_at: datetime

    @property
    def reason(self) -> str:
        if self.state is VariantState.unknown:
            return f"CJ does not know vid {self.vid}"
        if self.state is VariantState.delisted:
            return f"CJ has taken vid {self.vid} off the shelves"
        return f"vid {self.vid} is on sale at CJ"

    def mapping_values(self) -> dict[str, object]:
        """What a mapping of this vid learns from the check."""
        values: dict[str, object] = {
            "listed": self.state is VariantState.listed,
            "checked_at": self.checked_at,
        }
        variant = self.variant
        if variant is not None:
            values.update(
                pid=variant.pid,
                cj_sku=variant.variant_sku,
                variant_name=(variant.name or "")[:255] or None,
                variant_key=(variant.variant_key or "")[:255] or None,
                weight_g=_cents(variant.weight_g),
                length_mm=_cents(variant.length_mm),
                width_mm=_cents(variant.width_mm),
                height_mm=_cents(variant.height_mm),
                sell_price=_cents(variant.sell_price),
            )
        return values


def _cents(value: Decimal | None) -> Decimal | None:
    return value.quantize(Decimal("0.01")) if value is not None else None


class VariantChecker:
    def __init__(self, cj: CJClient, pacer: PollPacer) -> None:
        self._cj = cj
        self._pacer = pacer

    async def check(self, vid: str) -> VariantCheck:
        """One vid; CJ not answering (points, QPS, down) raises the catalogue's error."""
        await self._pacer.wait()
        try:
            variant = await self._cj.variant(vid)
        except CJVariantNotFound as exc:
            state = VariantState.delisted if exc.code in OFF_SHELF_CODES else VariantState.unknown
            return VariantCheck(vid, state, None, utcnow())
        except CJError as exc:
            raise cj_refusal(exc, f"vid {vid}") from exc
        return VariantCheck(vid, VariantState.listed, variant, utcnow())

    async def batches(
        self, vids: Sequence[str], size: int = BATCH_SIZE
    ) -> AsyncIterator[list[VariantCheck]]:
        for start in range(0, len(vids), size):
            yield [await self.check(vid) for vid in vids[start : start + size]]
