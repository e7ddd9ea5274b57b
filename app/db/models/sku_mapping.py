"""Which CJ variant ships a store SKU, and what CJ says about that variant."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, JSONType, TimestampMixin


class SkuMapping(TimestampMixin, Base):
    """One store SKU. A mapping from `skus import` starts with only sku and vid; adding the
    product (`products add`) or checking it with CJ (`skus check`) fills in the rest.
    `listed` is None while CJ has not been asked, False once CJ says the variant is unknown
    or off the shelves."""

    __tablename__ = "sku_mappings"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    vid: Mapped[str] = mapped_column(String(128), index=True)
    from_country: Mapped[str | None] = mapped_column(String(2))
    pid: Mapped[str | None] = mapped_column(String(64), index=True)
    cj_sku: Mapped[str | None] = mapped_column(String(128))
    variant_name: Mapped[str | None] = mapped_column(String(255))
    # The variant's option values, "-"-joined in its product's option_key order (CJ's
    # variantKey, e.g. "Black-XL").
    variant_key: Mapped[str | None] = mapped_column(String(255))
    # Countries of the CJ warehouses holding the variant, from CJ's inventory.
    ship_from: Mapped[list[str] | None] = mapped_column(JSONType)
    weight_g: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    length_mm: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    width_mm: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    height_mm: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    sell_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    listed: Mapped[bool | None] = mapped_column(Boolean)
    checked_at: Mapped[datetime | None]
