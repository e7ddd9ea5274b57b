"""Fulfillments: `dispute_status`, where the refund dispute opened to cancel a paid order
stands (requested, open, refunded, rejected, reissued), so the worker follows it to its end.

Revision ID: 7c3d1e9a4b20
Revises: 7c3d2e1f0a98
Create Date: 2026-12-01 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3d1e9a4b20"
down_revision: str | None = "7c3d2e1f0a98"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispute_status", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.drop_column("dispute_status")
