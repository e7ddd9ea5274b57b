"""CJ products added to the catalogue, and the stock CJ reports per variant and warehouse."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.db.base import Base, JSONType, TimestampMixin


class CatalogueProduct(TimestampMixin, Base):
    """A CJ product whose variants are mapped (`sku_mappings.pid`)."""

    __tablename__ = "cj_products"

    pid: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(500))
    product_sku: Mapped[str | None] = mapped_column(String(128))
    # CJ's option names, "-"-joined (product/query's productKeyEn, e.g. "Color-Size").
    option_key: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    images: Mapped[list[str]] = mapped_column(JSONType, default=list)
    listed: Mapped[bool] = mapped_column(Boolean, default=True)


class VariantStock(Base):
    """How many of a variant one CJ warehouse country holds, as CJ last said."""

    __tablename__ = "variant_stock"

    vid: Mapped[str] = mapped_column(String(128), primary_key=True)
    country_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StockRefresh(Base):
    """A product (pid) or a pid-less variant (`vid:<vid>`) whose stock CJ should be asked
    for soon: a PRODUCT, VARIANT or STOCK callback named it."""

    __tablename__ = "stock_refreshes"

    key: Mapped[str] = mapped_column(String(140), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
