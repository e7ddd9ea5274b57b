"""CJ access and refresh tokens, encrypted, shared by every process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin


class CJToken(TimestampMixin, Base):
    __tablename__ = "cj_tokens"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None]
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_expires_at: Mapped[datetime | None]
    open_id: Mapped[str | None] = mapped_column(String(64))
    last_auth_call_at: Mapped[datetime | None]
