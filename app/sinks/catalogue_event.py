"""What a store hears about the catalogue: a variant's stock or listing changed at CJ (a
public contract: the generic webhook sends it as it is).

The outbox `event_type` is `catalogue:<type>`; the body is the Standard Webhooks shape
`{id, type, timestamp, data}`, as the fulfillment notifications are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

CATALOGUE_EVENT_PREFIX = "catalogue:"
EventType = Literal["variant.stock_changed", "variant.delisted", "variant.relisted"]


def catalogue_event_type(kind: str) -> str:
    return f"{CATALOGUE_EVENT_PREFIX}{kind}"


def is_catalogue_event(event_type: str) -> bool:
    return event_type.startswith(CATALOGUE_EVENT_PREFIX)


class VariantStockData(BaseModel):
    vid: str = Field(description="CJ's variant id")
    pid: str | None = Field(description="CJ's product id")
    skus: list[str] = Field(description="The store SKUs mapped to it")
    stock: dict[str, int] = Field(description="Quantity per CJ warehouse country, now")
    previous_stock: dict[str, int] = Field(description="As it was before this change")
    listed: bool = Field(description="False: CJ took it off the shelves")
    in_stock: bool = Field(description="Listed, with some stock in a warehouse")


class CatalogueEvent(BaseModel):
    id: str = Field(description="Unique per event and stable across retries (= `webhook-id`)")
    type: EventType
    timestamp: datetime
    data: VariantStockData


@dataclass(frozen=True)
class VariantChange:
    vid: str
    pid: str | None
    skus: list[str]
    stock: dict[str, int]
    previous_stock: dict[str, int]
    listed: bool

    def event(self, kind: EventType, at: datetime) -> CatalogueEvent:
        return CatalogueEvent(
            id=f"stk_{uuid.uuid4().hex}",
            type=kind,
            timestamp=at,
            data=VariantStockData(
                vid=self.vid,
                pid=self.pid,
                skus=self.skus,
                stock=self.stock,
                previous_stock=self.previous_stock,
                listed=self.listed,
                in_stock=self.listed and any(n > 0 for n in self.stock.values()),
            ),
        )
