"""Every query on the catalogue: `cj_products`, their variants' `sku_mappings`, and
`variant_stock`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.db.models import CatalogueProduct, SkuMapping, StockRefresh, VariantStock


class CatalogueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def product(self, pid: str) -> CatalogueProduct | None:
        return await self._session.get(CatalogueProduct, pid)

    async def products(self) -> list[CatalogueProduct]:
        rows = await self._session.scalars(select(CatalogueProduct).order_by(CatalogueProduct.name))
        return list(rows)

    async def save_product(self, pid: str, values: Mapping[str, Any]) -> CatalogueProduct:
        product = await self.product(pid)
        if product is None:
            product = CatalogueProduct(pid=pid, **values)
            self._session.add(product)
        else:
            for name, value in values.items():
                setattr(product, name, value)
        await self._session.flush()
        return product

    async def mapping(self, sku: str) -> SkuMapping | None:
        return await self._session.get(SkuMapping, sku)

    async def mappings_of(self, pids: Collection[str]) -> list[SkuMapping]:
        if not pids:
            return []
        rows = await self._session.scalars(
            select(SkuMapping).where(SkuMapping.pid.in_(set(pids))).order_by(SkuMapping.sku)
        )
        return list(rows)

    async def all_mappings(self) -> list[SkuMapping]:
        rows = await self._session.scalars(
            select(SkuMapping).order_by(SkuMapping.pid, SkuMapping.sku)
        )
        return list(rows)

    async def mark_checked(self, vid: str, *, listed: bool, at: datetime) -> None:
        await self._session.execute(
            update(SkuMapping)
            .where(SkuMapping.vid == vid)
            .values(listed=listed, checked_at=at)
            .execution_options(synchronize_session=False)
        )

    async def save_mapping(self, sku: str, values: Mapping[str, Any]) -> str:
        """Insert or update the mapping of `sku`: "added", "updated" or "unchanged"."""
        mapping = await self.mapping(sku)
        if mapping is None:
            self._session.add(SkuMapping(sku=sku, **values))
            await self._session.flush()
            return "added"
        changed = any(getattr(mapping, name) != value for name, value in values.items())
        for name, value in values.items():
            setattr(mapping, name, value)
        await self._session.flush()
        return "updated" if changed else "unchanged"

    async def delete_mappings(self, skus: Collection[str]) -> None:
        if skus:
            await self._session.execute(delete(SkuMapping).where(SkuMapping.sku.in_(set(skus))))

    async def delete_product(self, pid: str) -> None:
        await self._session.execute(delete(CatalogueProduct).where(CatalogueProduct.pid == pid))

    async def replace_stock(self, vid: str, stock: Mapping[str, int]) -> None:
        """The variant's stock is exactly `stock` (warehouses CJ no longer lists are gone)."""
        await self._session.execute(delete(VariantStock).where(VariantStock.vid == vid))
        for country, quantity in stock.items():
            self._session.add(VariantStock(vid=vid, country_code=country, quantity=quantity))
        await self._session.flush()

    async def delete_stock(self, vids: Collection[str]) -> None:
        if vids:
            await self._session.execute(delete(VariantStock).where(VariantStock.vid.in_(set(vids))))

    async def stock_of(self, vids: Collection[str]) -> dict[str, dict[str, int]]:
        if not vids:
            return {}
        rows = await self._session.scalars(
            select(VariantStock).where(VariantStock.vid.in_(set(vids)))
        )
        stock: dict[str, dict[str, int]] = {}
        for row in rows:
            stock.setdefault(row.vid, {})[row.country_code] = row.quantity
        return stock

    async def refresh_keys(self, vids: Collection[str], pids: Collection[str]) -> set[str]:
        """The poll keys (pid, or `vid:<vid>` without one) of our mappings among these."""
        if not vids and not pids:
            return set()
        rows = await self._session.execute(
            select(SkuMapping.pid, SkuMapping.vid).where(
                or_(SkuMapping.vid.in_(set(vids)), SkuMapping.pid.in_(set(pids)))
            )
        )
        return {pid or f"vid:{vid}" for pid, vid in rows.all()}

    async def request_refresh(self, keys: Collection[str]) -> None:
        dialect = self._session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        for key in sorted(keys):
            await self._session.execute(
                insert(StockRefresh)
                .values(key=key, requested_at=utcnow())
                .on_conflict_do_nothing(index_elements=[StockRefresh.key])
            )

    async def take_refreshes(self, limit: int) -> list[str]:
        """Claim (delete) up to `limit` requested refreshes, oldest first."""
        keys = list(
            await self._session.scalars(
                select(StockRefresh.key)
                .order_by(StockRefresh.requested_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if keys:
            await self._session.execute(delete(StockRefresh).where(StockRefresh.key.in_(keys)))
        return keys
