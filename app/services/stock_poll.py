"""Keeping the stock of the mapped variants true: reading it from CJ, storing what
changed, telling the store.

One stock/getInventoryByPid (10 points) per mapped product, at the catalogue's priority
and paced to `CATALOGUE_QPS_SHARE` (the pacer `skus check` uses too), so a pass over N
products costs N requests and 10·N points. A mapping without a pid (an unchecked
`skus import` row) is read with stock/queryByVid. Each product's changes are written in
one transaction with their notifications: a variant whose stock changed
(`variant.stock_changed`), one CJ took off the shelves (`variant.delisted`: CJ no longer
lists it, or the product is gone) or put back (`variant.relisted`), for the generic
webhook sink and the Medusa stock sink (`MEDUSA_STOCK_LOCATION_ID`). A pass that CJ stops
(points gone, CJ down) keeps what it wrote and says why; the next pass starts over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cj.client import CJClient
from app.cj.errors import CJError, CJVariantNotFound
from app.core.clock import utcnow
from app.core.errors import AppError
from app.db.models import OutboxMessage, SkuMapping
from app.db.repositories.catalogue import CatalogueRepository
from app.db.repositories.outbox_messages import OutboxRepository
from app.db.session import transaction
from app.services.catalogue import cj_refusal
from app.services.tracking_readback import PollPacer
from app.sinks.catalogue_event import CatalogueEvent, VariantChange, catalogue_event_type

log = structlog.get_logger(__name__)


@dataclass
class PollReport:
    products: int = 0
    variants: int = 0
    changed: int = 0
    delisted: int = 0
    stopped: str | None = None
    events: list[CatalogueEvent] = field(default_factory=list)


@dataclass(frozen=True)
class _Read:
    """CJ's answer for one product (or one pid-less vid): stock per vid; `gone` when CJ no
    longer has the product at all."""

    stock: dict[str, dict[str, int]]
    gone: bool = False


class StockPoller:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cj: CJClient,
        pacer: PollPacer,
        *,
        sinks: Sequence[str],
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cj = cj
        self._pacer = pacer
        self._sinks = list(sinks)

    async def groups(self) -> dict[str, list[SkuMapping]]:
        """The mappings to read, by pid (`vid:<vid>` for a mapping without one)."""
        async with self._sessionmaker() as session:
            mappings = await CatalogueRepository(session).all_mappings()
        groups: dict[str, list[SkuMapping]] = {}
        for mapping in mappings:
            groups.setdefault(mapping.pid or f"vid:{mapping.vid}", []).append(mapping)
        return groups

    async def poll(
        self, on_group: Callable[[str, int], None] = lambda key, variants: None
    ) -> PollReport:
        """Every mapped product, once."""
        return await self._pass(await self.groups(), on_group)

    async def refresh_requested(self, limit: int = 50) -> PollReport:
        """The products callbacks named (`request_refresh`), oldest first; what CJ could
        not be asked about stays requested."""
        async with transaction(self._sessionmaker) as session:
            keys = await CatalogueRepository(session).take_refreshes(limit)
        if not keys:
            return PollReport()
        groups = await self.groups()
        report = await self._pass({k: groups[k] for k in keys if k in groups})
        if report.stopped:
            async with transaction(self._sessionmaker) as session:
                await CatalogueRepository(session).request_refresh(keys[report.products :])
        return report

    async def _pass(
        self,
        groups: dict[str, list[SkuMapping]],
        on_group: Callable[[str, int], None] = lambda key, variants: None,
    ) -> PollReport:
        report = PollReport()
        for key, mappings in groups.items():
            try:
                read = await self._read(key)
            except AppError as exc:
                report.stopped = exc.detail
                log.warning("stock_poll_stopped", reason=exc.detail)
                break
            events = await self._apply(mappings, read, utcnow())
            report.products += 1
            report.variants += len({m.vid for m in mappings})
            report.changed += sum(e.type == "variant.stock_changed" for e in events)
            report.delisted += sum(e.type == "variant.delisted" for e in events)
            report.events += events
            on_group(key, len(mappings))
        return report

    async def _read(self, key: str) -> _Read:
        await self._pacer.wait()
        try:
            if key.startswith("vid:"):
                vid = key.removeprefix("vid:")
                return _Read({vid: await self._cj.variant_stock(vid)})
            return _Read(await self._cj.product_inventory(key))
        except CJVariantNotFound:
            return _Read({}, gone=True)
        except CJError as exc:
            raise cj_refusal(exc, key) from exc

    async def _apply(
        self, mappings: list[SkuMapping], read: _Read, now: datetime
    ) -> list[CatalogueEvent]:
        by_vid: dict[str, list[SkuMapping]] = {}
        for mapping in mappings:
            by_vid.setdefault(mapping.vid, []).append(mapping)
        events: list[CatalogueEvent] = []
        async with transaction(self._sessionmaker) as session:
            repository = CatalogueRepository(session)
            before = await repository.stock_of(list(by_vid))
            for vid, rows in by_vid.items():
                new = None if read.gone else read.stock.get(vid)
                was_listed = all(row.listed is not False for row in rows)
                change = VariantChange(
                    vid=vid,
                    pid=rows[0].pid,
                    skus=sorted(row.sku for row in rows),
                    stock=new if new is not None else before.get(vid, {}),
                    previous_stock=before.get(vid, {}),
                    listed=new is not None,
                )
                await repository.mark_checked(vid, listed=change.listed, at=now)
                if new is not None and new != before.get(vid, {}):
                    await repository.replace_stock(vid, new)
                    events.append(change.event("variant.stock_changed", now))
                if was_listed and not change.listed:
                    events.append(change.event("variant.delisted", now))
                elif not was_listed and change.listed:
                    events.append(change.event("variant.relisted", now))
            await self._enqueue(session, events)
        return events

    async def _enqueue(self, session: AsyncSession, events: list[CatalogueEvent]) -> None:
        if not events or not self._sinks:
            return
        now = utcnow()
        await OutboxRepository(session).add(
            [
                OutboxMessage(
                    fulfillment_id=None,
                    sink=sink,
                    event_type=catalogue_event_type(event.type),
                    payload=event.model_dump(mode="json"),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
                for event in events
                for sink in self._sinks
            ]
        )
