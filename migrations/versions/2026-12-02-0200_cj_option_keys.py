"""`cj_products.option_key` and `sku_mappings.variant_key`: CJ's option names
(productKeyEn) and each variant's option values (variantKey), so the Medusa import can make
one Medusa option per CJ option (Color, Size) instead of one `Variant` option.

Revision ID: 3b7d2f9c6a14
Revises: e5c9a1d7f2b8
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b7d2f9c6a14"
down_revision: str | None = "e5c9a1d7f2b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cj_products", sa.Column("option_key", sa.String(length=255), nullable=True))
    op.add_column("sku_mappings", sa.Column("variant_key", sa.String(length=255), nullable=True))


def downgrade() -> None:
    op.drop_column("sku_mappings", "variant_key")
    op.drop_column("cj_products", "option_key")
