"""Which CJ variant ships a store SKU."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin


class SkuMapping(TimestampMixin, Base):
    __tablename__ = "sku_mappings"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    vid: Mapped[str] = mapped_column(String(128))
    from_country: Mapped[str | None] = mapped_column(String(2))
