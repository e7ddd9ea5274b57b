"""Every query on `sku_mappings`: which CJ variant (vid) ships a store SKU."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import SkuMapping

UpsertOutcome = Literal["added", "updated", "unchanged"]


class SkuMappingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def vids_for(self, skus: Collection[str]) -> dict[str, str]:
        """The vid of each known SKU among `skus`, in one query; unknown SKUs are left out."""
        if not skus:
            return {}
        rows = await self._session.execute(
            select(SkuMapping.sku, SkuMapping.vid).where(SkuMapping.sku.in_(set(skus)))
        )
        return dict(rows.all())

    async def upsert(self, sku: str, vid: str, from_country: str | None) -> UpsertOutcome:
        """Store the mapping and say what changed.

        Insert-or-nothing, then update-if-different: each statement is atomic, so two
        imports racing on one SKU cannot fail on the primary key, and an unchanged row
        keeps its `updated_at`.
        """
        dialect = self._session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        inserted = await self._session.execute(
            insert(SkuMapping)
            .values(sku=sku, vid=vid, from_country=from_country)
            .on_conflict_do_nothing(index_elements=[SkuMapping.sku])
        )
        if inserted.rowcount == 1:  # type: ignore[attr-defined]
            return "added"
        updated = await self._session.execute(
            update(SkuMapping)
            .where(SkuMapping.sku == sku)
            .where(
                or_(
                    SkuMapping.vid != vid,
                    SkuMapping.from_country.is_distinct_from(from_country),
                )
            )
            .values(vid=vid, from_country=from_country)
            .execution_options(synchronize_session=False)
        )
        return "updated" if updated.rowcount == 1 else "unchanged"  # type: ignore[attr-defined]

    async def record_check(self, vid: str, values: Mapping[str, object]) -> None:
        """What CJ said about `vid`, on every mapping of it."""
        await self._session.execute(
            update(SkuMapping)
            .where(SkuMapping.vid == vid)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def by_vid(self, limit: int | None = None) -> dict[str, list[str]]:
        """The mapped vids (in vid order, at most `limit`) and the SKUs of each."""
        rows = await self._session.execute(
            select(SkuMapping.vid, SkuMapping.sku).order_by(SkuMapping.vid, SkuMapping.sku)
        )
        skus: dict[str, list[str]] = {}
        for vid, sku in rows.all():
            if vid not in skus and limit is not None and len(skus) >= limit:
                break
            skus.setdefault(vid, []).append(sku)
        return skus

    async def first(self, limit: int) -> list[SkuMapping]:
        """Up to `limit` mappings in SKU order."""
        rows = await self._session.scalars(select(SkuMapping).order_by(SkuMapping.sku).limit(limit))
        return list(rows)
