"""Stored answers to `POST /v1/fulfillments`, keyed by the caller's Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigIntId, JSONType, TimestampMixin


class IdempotencyKey(TimestampMixin, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (CheckConstraint("state IN ('in_progress', 'completed')", name="state"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="in_progress")
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    fulfillment_id: Mapped[str | None] = mapped_column(
        ForeignKey("fulfillments.id", ondelete="SET NULL"), index=True
    )
    locked_until: Mapped[datetime | None]
