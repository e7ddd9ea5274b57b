"""Fulfillments: `dispute_opened_at`, so a refund dispute CJ never decides is followed
until DISPUTE_GIVE_UP_SECONDS after it was opened, not for ever. Disputes already open
count from their row's last change.

Revision ID: 9f2c5a8e1d47
Revises: d81f3b6c2a47
Create Date: 2026-12-02 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9f2c5a8e1d47"
down_revision: str | None = "d81f3b6c2a47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispute_opened_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE fulfillments SET dispute_opened_at = updated_at WHERE dispute_status IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.drop_column("dispute_opened_at")
