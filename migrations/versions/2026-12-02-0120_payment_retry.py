"""Fulfillments: `payment_retry_at` and `payment_attempts`, so a balance payment that
could not be made (CJ unreachable, a balance that may be topped up) is tried again until
PAYMENT_GIVE_UP_SECONDS instead of leaving the order unpaid for ever.

Revision ID: 8e1b4c7d2f36
Revises: c4a7e2d91b35
Create Date: 2026-12-02 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e1b4c7d2f36"
down_revision: str | None = "c4a7e2d91b35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_retry_at", sa.DateTime(timezone=True)))
        batch_op.add_column(
            sa.Column("payment_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index(
            batch_op.f("ix_fulfillments_payment_retry_at"), ["payment_retry_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfillments_payment_retry_at"))
        batch_op.drop_column("payment_attempts")
        batch_op.drop_column("payment_retry_at")
