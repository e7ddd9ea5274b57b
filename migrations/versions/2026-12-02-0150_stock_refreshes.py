"""`stock_refreshes`: the products (or pid-less variants) a CJ PRODUCT, VARIANT or STOCK
callback named, whose stock the worker reads from CJ soon.

Revision ID: e5c9a1d7f2b8
Revises: 9f2c5a8e1d47
Create Date: 2026-12-02 01:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5c9a1d7f2b8"
down_revision: str | None = "9f2c5a8e1d47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stock_refreshes",
        sa.Column("key", sa.String(length=140), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("stock_refreshes_pkey")),
    )


def downgrade() -> None:
    op.drop_table("stock_refreshes")
