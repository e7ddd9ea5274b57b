"""A store fulfillment and the CJ order it becomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.db.base import Base, BigIntId, JSONType, TimestampMixin

FULFILLMENT_STATUSES = (
    "pending",
    "created",
    "in_cart",
    "unpaid",
    "unshipped",
    "shipped",
    "delivered",
    "cancelled",
    "failed",
)
_STATUS_LIST = ", ".join(f"'{s}'" for s in FULFILLMENT_STATUSES)
# A fulfillment is live until it is cancelled or CJ refused it: at most one live row per
# external_id, so a create with another Idempotency-Key never places a second CJ order.
LIVE_CONDITION = "status NOT IN ('cancelled', 'failed')"


class Fulfillment(TimestampMixin, Base):
    __tablename__ = "fulfillments"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_LIST})", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_fulfillments_status_next_attempt_at", "status", "next_attempt_at"),
        Index(
            "uq_fulfillments_live_external_id",
            "external_id",
            unique=True,
            postgresql_where=text(LIVE_CONDITION),
            sqlite_where=text(LIVE_CONDITION),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), index=True)
    order_id: Mapped[str] = mapped_column(String(255), index=True)
    option_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_reason: Mapped[str | None] = mapped_column(Text)
    cj_order_number: Mapped[str] = mapped_column(String(50), unique=True)
    cj_order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    cj_status: Mapped[str | None] = mapped_column(String(32))
    logistic_name: Mapped[str | None] = mapped_column(String(128))
    from_country: Mapped[str] = mapped_column(String(2))
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSONType)
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    tracking: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    tracking_events: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    dispute_id: Mapped[str | None] = mapped_column(String(64))
    # The refund dispute opened to cancel a paid order: requested (CJ has it, its id not
    # known yet), open, then refunded, rejected or reissued (services.disputes).
    dispute_status: Mapped[str | None] = mapped_column(String(16))
    # When that dispute was opened: it is followed until DISPUTE_GIVE_UP_SECONDS after.
    dispute_opened_at: Mapped[datetime | None]
    # Balance mode: when the payment that could not be made is tried again (None: not due,
    # paid, or given up); set forward while a retrier holds it (services.payment_retry).
    payment_retry_at: Mapped[datetime | None] = mapped_column(index=True)
    payment_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    # Set while one submitter (the API or a worker) owns the row and may be talking to CJ;
    # a lease, so a crashed submitter's row is picked up again once it has passed.
    claimed_until: Mapped[datetime | None]
    # True from the moment a submitter may send createOrder until an answer proves that CJ
    # has no order for it: while True, CJ is asked (by orderNumber) before anything else.
    may_be_at_cj: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_synced_at: Mapped[datetime | None]

    items: Mapped[list[FulfillmentItem]] = relationship(
        back_populates="fulfillment",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="FulfillmentItem.id",
    )


class FulfillmentItem(Base):
    __tablename__ = "fulfillment_items"
    __table_args__ = (
        UniqueConstraint("fulfillment_id", "line_item_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fulfillment_id: Mapped[str] = mapped_column(
        ForeignKey("fulfillments.id", ondelete="CASCADE"), index=True
    )
    line_item_id: Mapped[str] = mapped_column(String(255))
    sku: Mapped[str | None] = mapped_column(String(128))
    vid: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int]
    # CJ's podProperties entries for a print-on-demand line (sent as createOrder's JSON text)
    pod_properties: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)

    fulfillment: Mapped[Fulfillment] = relationship(back_populates="items", lazy="raise")


class FulfillmentEvent(Base):
    """One row per status change (append-only), written with the change itself."""

    __tablename__ = "fulfillment_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fulfillment_id: Mapped[str] = mapped_column(
        ForeignKey("fulfillments.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
