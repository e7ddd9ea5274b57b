"""The catalogue: CJ products (`cj_products`), what CJ says about each mapped variant (new
`sku_mappings` columns, all nullable so existing mappings stay as they are), and the stock
per variant and warehouse country (`variant_stock`).

Revision ID: c4a7e2d91b35
Revises: 7c3d1e9a4b20
Create Date: 2026-12-02 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c4a7e2d91b35"
down_revision: str | None = "7c3d1e9a4b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
MEASURES = ("weight_g", "length_mm", "width_mm", "height_mm", "sell_price")


def upgrade() -> None:
    op.create_table(
        "cj_products",
        sa.Column("pid", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("product_sku", sa.String(length=128), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("images", JSON, nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("pid", name=op.f("cj_products_pkey")),
    )
    op.create_table(
        "variant_stock",
        sa.Column("vid", sa.String(length=128), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vid", "country_code", name=op.f("variant_stock_pkey")),
    )
    with op.batch_alter_table("sku_mappings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("cj_sku", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("variant_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("ship_from", JSON, nullable=True))
        for name in MEASURES:
            batch_op.add_column(sa.Column(name, sa.Numeric(12, 2), nullable=True))
        batch_op.add_column(sa.Column("listed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_sku_mappings_pid"), ["pid"], unique=False)
        batch_op.create_index(batch_op.f("ix_sku_mappings_vid"), ["vid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sku_mappings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sku_mappings_vid"))
        batch_op.drop_index(batch_op.f("ix_sku_mappings_pid"))
        for name in ("checked_at", "listed", *reversed(MEASURES), "ship_from", "variant_name"):
            batch_op.drop_column(name)
        batch_op.drop_column("cj_sku")
        batch_op.drop_column("pid")
    op.drop_table("variant_stock")
    op.drop_table("cj_products")
