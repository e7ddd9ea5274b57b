"""Fulfillment items: `pod_properties`, CJ's podProperties entries of a print-on-demand
line (sent to createOrder as their JSON text).

Revision ID: d81f3b6c2a47
Revises: 8e1b4c7d2f36
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d81f3b6c2a47"
down_revision: str | None = "8e1b4c7d2f36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "pod_properties",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.drop_column("pod_properties")
