"""CJ orders a fulfillment was split into (ORDERSPLIT): their tracking finds it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.db.base import Base, BigIntId


class FulfillmentParcel(Base):
    __tablename__ = "fulfillment_parcels"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fulfillment_id: Mapped[str] = mapped_column(
        ForeignKey("fulfillments.id", ondelete="CASCADE"), index=True
    )
    # The split order's code at CJ; one parcel belongs to one fulfillment only.
    cj_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    cj_status: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
