"""Fulfillments: `claimed_until`, the lease of the submitter that owns a pending row, and
`may_be_at_cj`, set while an attempt may have reached CJ.

Revision ID: 5b1f0c2d9e47
Revises: a6e248bdca82
Create Date: 2026-11-24 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1f0c2d9e47"
down_revision: str | None = "a6e248bdca82"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("may_be_at_cj", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.drop_column("may_be_at_cj")
        batch_op.drop_column("claimed_until")
