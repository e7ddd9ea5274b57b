"""Webhook inbox: `path_token_valid` (the second factor), messageIds up to 200 characters,
the `dead` status; `fulfillment_parcels` for the orders CJ split a fulfillment into.

Revision ID: 7c3d2e1f0a98
Revises: 7c3e91a4b2d0
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3d2e1f0a98"
down_revision: str | None = "7c3e91a4b2d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "status IN ('received', 'applied', 'awaiting_confirmation', 'ignored', 'malformed')"
_NEW = "status IN ('received', 'applied', 'awaiting_confirmation', 'ignored', 'malformed', 'dead')"


def upgrade() -> None:
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("path_token_valid", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.alter_column(
            "message_id", existing_type=sa.String(length=128), type_=sa.String(length=200)
        )
        batch_op.drop_constraint(op.f("webhook_inbox_status_check"), type_="check")
        batch_op.create_check_constraint(op.f("webhook_inbox_status_check"), _NEW)
    op.create_table(
        "fulfillment_parcels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fulfillment_id", sa.String(length=40), nullable=False),
        sa.Column("cj_order_id", sa.String(length=64), nullable=False),
        sa.Column("cj_status", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fulfillment_id"],
            ["fulfillments.id"],
            name=op.f("fulfillment_parcels_fulfillment_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("fulfillment_parcels_pkey")),
        sa.UniqueConstraint("cj_order_id", name=op.f("fulfillment_parcels_cj_order_id_key")),
    )
    with op.batch_alter_table("fulfillment_parcels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fulfillment_parcels_fulfillment_id"), ["fulfillment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("fulfillment_parcels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfillment_parcels_fulfillment_id"))
    op.drop_table("fulfillment_parcels")
    # What the old schema cannot hold: a dead message becomes ignored (its error says why),
    # a messageId over 128 characters cannot be kept.
    op.execute("UPDATE webhook_inbox SET status = 'ignored' WHERE status = 'dead'")
    op.execute("DELETE FROM webhook_inbox WHERE length(message_id) > 128")
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("webhook_inbox_status_check"), type_="check")
        batch_op.create_check_constraint(op.f("webhook_inbox_status_check"), _OLD)
        batch_op.alter_column(
            "message_id", existing_type=sa.String(length=200), type_=sa.String(length=128)
        )
        batch_op.drop_column("path_token_valid")
