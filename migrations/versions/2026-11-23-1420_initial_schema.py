"""Initial schema: every table of DESIGN "Persistence".

Revision ID: a6e248bdca82
Revises:
Create Date: 2026-11-23 14:20:43.140843
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a6e248bdca82"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cj_tokens",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("access_token_encrypted", sa.Text(), nullable=True),
        sa.Column("access_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=True),
        sa.Column("refresh_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open_id", sa.String(length=64), nullable=True),
        sa.Column("last_auth_call_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("account", name=op.f("cj_tokens_pkey")),
    )
    op.create_table(
        "fulfillments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("option_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("cj_order_number", sa.String(length=50), nullable=False),
        sa.Column("cj_order_id", sa.String(length=64), nullable=True),
        sa.Column("cj_status", sa.String(length=32), nullable=True),
        sa.Column("logistic_name", sa.String(length=128), nullable=True),
        sa.Column("from_country", sa.String(length=2), nullable=False),
        sa.Column(
            "shipping_address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "tracking",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tracking_events",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dispute_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'created', 'in_cart', 'unpaid', 'unshipped', 'shipped', "
            "'delivered', 'cancelled', 'failed')",
            name=op.f("fulfillments_status_check"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("fulfillments_attempts_non_negative_check")),
        sa.PrimaryKeyConstraint("id", name=op.f("fulfillments_pkey")),
        sa.UniqueConstraint("cj_order_number", name=op.f("fulfillments_cj_order_number_key")),
    )
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fulfillments_cj_order_id"), ["cj_order_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_fulfillments_external_id"), ["external_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fulfillments_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_fulfillments_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "sku_mappings",
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("vid", sa.String(length=128), nullable=False),
        sa.Column("from_country", sa.String(length=2), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("sku", name=op.f("sku_mappings_pkey")),
    )
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=True),
        sa.Column("topic", sa.String(length=32), nullable=True),
        sa.Column("message_type", sa.String(length=32), nullable=True),
        sa.Column("raw_body", sa.Text(), nullable=False),
        sa.Column("signature_valid", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('received', 'applied', 'awaiting_confirmation', 'ignored', 'malformed')",
            name=op.f("webhook_inbox_status_check"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("webhook_inbox_pkey")),
        sa.UniqueConstraint("message_id", name=op.f("webhook_inbox_message_id_key")),
    )
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_inbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "fulfillment_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fulfillment_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fulfillment_id"],
            ["fulfillments.id"],
            name=op.f("fulfillment_events_fulfillment_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("fulfillment_events_pkey")),
    )
    with op.batch_alter_table("fulfillment_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fulfillment_events_fulfillment_id"), ["fulfillment_id"], unique=False
        )

    op.create_table(
        "fulfillment_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fulfillment_id", sa.String(length=40), nullable=False),
        sa.Column("line_item_id", sa.String(length=255), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=True),
        sa.Column("vid", sa.String(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("fulfillment_items_quantity_positive_check")),
        sa.ForeignKeyConstraint(
            ["fulfillment_id"],
            ["fulfillments.id"],
            name=op.f("fulfillment_items_fulfillment_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("fulfillment_items_pkey")),
        sa.UniqueConstraint(
            "fulfillment_id",
            "line_item_id",
            name=op.f("fulfillment_items_fulfillment_id_line_item_id_key"),
        ),
    )
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fulfillment_items_fulfillment_id"), ["fulfillment_id"], unique=False
        )

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column(
            "response_body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("fulfillment_id", sa.String(length=40), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "state IN ('in_progress', 'completed')", name=op.f("idempotency_keys_state_check")
        ),
        sa.ForeignKeyConstraint(
            ["fulfillment_id"],
            ["fulfillments.id"],
            name=op.f("idempotency_keys_fulfillment_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("idempotency_keys_pkey")),
        sa.UniqueConstraint("key", name=op.f("idempotency_keys_key_key")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_fulfillment_id"), ["fulfillment_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fulfillment_id", sa.String(length=40), nullable=True),
        sa.Column("sink", sa.String(length=32), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name=op.f("outbox_status_check")
        ),
        sa.ForeignKeyConstraint(
            ["fulfillment_id"],
            ["fulfillments.id"],
            name=op.f("outbox_fulfillment_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("outbox_pkey")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_fulfillment_id"), ["fulfillment_id"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_outbox_fulfillment_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_fulfillment_id"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfillment_items_fulfillment_id"))

    op.drop_table("fulfillment_items")
    with op.batch_alter_table("fulfillment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfillment_events_fulfillment_id"))

    op.drop_table("fulfillment_events")
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_inbox_status_next_attempt_at")

    op.drop_table("webhook_inbox")
    op.drop_table("sku_mappings")
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.drop_index("ix_fulfillments_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_fulfillments_order_id"))
        batch_op.drop_index(batch_op.f("ix_fulfillments_external_id"))
        batch_op.drop_index(batch_op.f("ix_fulfillments_cj_order_id"))

    op.drop_table("fulfillments")
    op.drop_table("cj_tokens")
