"""Every CJ webhook, stored raw by the intake and applied later by the worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.db.base import Base, BigIntId

# received: stored, not applied yet; awaiting_confirmation: its claim is read back from CJ
# first; dead: given up after a bounded number of attempts (`error` says why).
INBOX_STATUSES = (
    "received",
    "applied",
    "awaiting_confirmation",
    "ignored",
    "malformed",
    "dead",
)
_STATUS_LIST = ", ".join(f"'{s}'" for s in INBOX_STATUSES)
MESSAGE_ID_MAX = 200  # CJ's messageId may be this long
# The messages the worker still has to take up, by id: its batches are claimed from this
# index in id order, never by walking the settled ones the inbox keeps (or sorting the
# backlog). On `id` alone, so Postgres costs it as it costs the primary key (ids follow
# the table's order) and prefers it, being smaller; on (status, id) it would not.
PENDING_CONDITION = "status IN ('received', 'awaiting_confirmation')"


class WebhookInboxMessage(Base):
    __tablename__ = "webhook_inbox"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_LIST})", name="status"),
        Index("ix_webhook_inbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index(
            "ix_webhook_inbox_pending_id",
            "id",
            postgresql_where=text(PENDING_CONDITION),
            sqlite_where=text(PENDING_CONDITION),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(MESSAGE_ID_MAX), unique=True)
    topic: Mapped[str | None] = mapped_column(String(32))
    message_type: Mapped[str | None] = mapped_column(String(32))
    raw_body: Mapped[str] = mapped_column(Text)
    signature_valid: Mapped[bool | None]
    # The request came on a secret path token (`/webhooks/cj/{token}`): the second factor
    # that, with a valid signature, makes the message CJ's own word.
    path_token_valid: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(24), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
