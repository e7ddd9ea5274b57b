"""Fulfillments: at most one live row (not cancelled, not failed) per external_id, so two
creates with different Idempotency-Keys and the same external_id place one CJ order.

The upgrade fails, naming the external ids, when live duplicates already exist: cancel
(or mark failed) all but one of each before upgrading.

Revision ID: 7c3e91a4b2d0
Revises: 5b1f0c2d9e47
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3e91a4b2d0"
down_revision: str | None = "5b1f0c2d9e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status NOT IN ('cancelled', 'failed')"


def upgrade() -> None:
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT external_id FROM fulfillments WHERE {LIVE} "
                "GROUP BY external_id HAVING count(*) > 1 ORDER BY external_id LIMIT 20"
            )
        )
        .scalars()
        .all()
    )
    if duplicates:
        raise RuntimeError(
            "These external ids have more than one live fulfillment; cancel all but one of "
            f"each, then upgrade again: {', '.join(duplicates)}"
        )
    op.create_index(
        "uq_fulfillments_live_external_id",
        "fulfillments",
        ["external_id"],
        unique=True,
        postgresql_where=sa.text(LIVE),
        sqlite_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_fulfillments_live_external_id", table_name="fulfillments")
