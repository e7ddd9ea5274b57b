"""Fulfillments, their items and their events. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.db.models import Fulfillment, FulfillmentEvent, FulfillmentParcel

_NOT_LIVE = ("cancelled", "failed")


class FulfillmentRepository:
    """`batch_writes`: the status changes' events and notifications are only added to the
    session, for the caller's unit of work to insert together (the webhook applier flushes
    once per batch, not per change); a write that fails then fails the caller's flush or
    commit instead of the change itself. The caller holds the rows it changes (locked)."""

    def __init__(self, session: AsyncSession, *, batch_writes: bool = False) -> None:
        self.session = session
        self.batch_writes = batch_writes

    @property
    def _skip_locked(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def add(self, fulfillment: Fulfillment) -> None:
        self.session.add(fulfillment)
        await self.session.flush()

    async def get(self, fulfillment_id: str) -> Fulfillment | None:
        return await self.session.get(Fulfillment, fulfillment_id)

    async def get_for_update(self, fulfillment_id: str) -> Fulfillment | None:
        """The row, locked until the transaction ends (Postgres; SQLite has one writer)."""
        statement = (
            select(Fulfillment)
            .where(Fulfillment.id == fulfillment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_order_number(self, number: str, *, for_update: bool) -> Fulfillment | None:
        """By CJ's `orderNumber` (derived from our id; unique)."""
        return await self._one(Fulfillment.cj_order_number == number, for_update)

    async def by_cj_order_id(self, cj_order_id: str, *, for_update: bool) -> Fulfillment | None:
        return await self._one(Fulfillment.cj_order_id == cj_order_id, for_update)

    async def by_parcel(self, cj_order_id: str, *, for_update: bool) -> Fulfillment | None:
        """The fulfillment CJ split into the order `cj_order_id` (ORDERSPLIT)."""
        owner = select(FulfillmentParcel.fulfillment_id).where(
            FulfillmentParcel.cj_order_id == cj_order_id
        )
        return await self._one(Fulfillment.id.in_(owner.scalar_subquery()), for_update)

    async def lock_matching(
        self, *, order_numbers: Sequence[str], cj_order_ids: Sequence[str]
    ) -> Sequence[Fulfillment]:
        """Every fulfillment with one of these order numbers, CJ order ids or parcels,
        locked in id order (so two callers locking overlapping sets never deadlock), with
        its items (the store's notifications carry them: one query for all)."""
        conditions: list[ColumnElement[bool]] = []
        if order_numbers:
            conditions.append(Fulfillment.cj_order_number.in_(order_numbers))
        if cj_order_ids:
            conditions.append(Fulfillment.cj_order_id.in_(cj_order_ids))
            parcels = select(FulfillmentParcel.fulfillment_id).where(
                FulfillmentParcel.cj_order_id.in_(cj_order_ids)
            )
            conditions.append(Fulfillment.id.in_(parcels.scalar_subquery()))
        if not conditions:
            return []
        statement = (
            select(Fulfillment)
            .where(or_(*conditions))
            .order_by(Fulfillment.id)
            .with_for_update(of=Fulfillment)
            .options(selectinload(Fulfillment.items))
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def parcels(self, fulfillment_ids: Sequence[str]) -> dict[str, str]:
        """CJ order id of each parcel of these fulfillments -> its fulfillment."""
        if not fulfillment_ids:
            return {}
        rows = await self.session.execute(
            select(FulfillmentParcel.cj_order_id, FulfillmentParcel.fulfillment_id).where(
                FulfillmentParcel.fulfillment_id.in_(fulfillment_ids)
            )
        )
        return {row.cj_order_id: row.fulfillment_id for row in rows}

    async def add_parcel(self, parcel: FulfillmentParcel) -> None:
        self.session.add(parcel)
        await self.session.flush()

    async def _one(self, condition: ColumnElement[bool], for_update: bool) -> Fulfillment | None:
        statement = (
            select(Fulfillment)
            .where(condition)
            .order_by(Fulfillment.created_at)
            .limit(1)
            .execution_options(populate_existing=True)
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_with_items(self, fulfillment_id: str) -> Fulfillment | None:
        statement = (
            select(Fulfillment)
            .where(Fulfillment.id == fulfillment_id)
            .options(selectinload(Fulfillment.items))
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def find(
        self, *, external_id: str | None, order_id: str | None, limit: int
    ) -> Sequence[Fulfillment]:
        statement = select(Fulfillment).order_by(Fulfillment.created_at, Fulfillment.id)
        if external_id is not None:
            statement = statement.where(Fulfillment.external_id == external_id)
        if order_id is not None:
            statement = statement.where(Fulfillment.order_id == order_id)
        return (await self.session.execute(statement.limit(limit))).scalars().all()

    async def live_by_external_id(self, external_id: str) -> Fulfillment | None:
        """The one live (not cancelled, not failed) fulfillment of `external_id`, with its
        items, locked until the transaction ends."""
        statement = (
            select(Fulfillment)
            .where(Fulfillment.external_id == external_id, Fulfillment.status.not_in(_NOT_LIVE))
            .options(selectinload(Fulfillment.items))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalars().first()

    async def live_for_order(self, order_id: str) -> Sequence[Fulfillment]:
        """The order's live fulfillments with their items, oldest first, locked until the
        transaction ends."""
        statement = (
            select(Fulfillment)
            .where(Fulfillment.order_id == order_id, Fulfillment.status.not_in(_NOT_LIVE))
            .options(selectinload(Fulfillment.items))
            .order_by(Fulfillment.created_at, Fulfillment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def events(self, fulfillment_id: str) -> Sequence[FulfillmentEvent]:
        statement = (
            select(FulfillmentEvent)
            .where(FulfillmentEvent.fulfillment_id == fulfillment_id)
            .order_by(FulfillmentEvent.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def add_event(self, event: FulfillmentEvent) -> None:
        self.session.add(event)
        if not self.batch_writes:
            await self.session.flush()

    async def claim(self, fulfillment_id: str, *, now: datetime, until: datetime) -> bool | None:
        """Take the lease on one pending, unclaimed row and mark it as possibly at CJ
        (the holder may send it). Returns whether an earlier attempt may have reached CJ,
        or None when the row is not pending or someone else holds it."""
        was = (
            await self.session.execute(
                select(Fulfillment.may_be_at_cj)
                .where(Fulfillment.id == fulfillment_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        statement = (
            update(Fulfillment)
            .where(
                Fulfillment.id == fulfillment_id,
                Fulfillment.status == "pending",
                or_(Fulfillment.claimed_until.is_(None), Fulfillment.claimed_until < now),
            )
            .values(
                claimed_until=until,
                attempts=Fulfillment.attempts + 1,
                may_be_at_cj=True,
                updated_at=now,
            )
            .returning(Fulfillment.id)
            .execution_options(synchronize_session=False)
        )
        claimed = (await self.session.execute(statement)).scalar_one_or_none()
        return None if claimed is None or was is None else bool(was)

    async def with_dispute_in(self, statuses: Sequence[str], *, limit: int) -> Sequence[str]:
        """Rows whose cancellation dispute is in one of `statuses`, least recently changed
        first (so every one is asked about in turn)."""
        statement = (
            select(Fulfillment.id)
            .where(Fulfillment.dispute_status.in_(statuses))
            .order_by(Fulfillment.updated_at)
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def payment_due_ids(self, *, now: datetime, limit: int) -> Sequence[str]:
        """Rows whose balance payment is due to be tried again, longest waiting first."""
        statement = (
            select(Fulfillment.id)
            .where(Fulfillment.payment_retry_at <= now)
            .order_by(Fulfillment.payment_retry_at)
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def claim_payment(self, fulfillment_id: str, *, now: datetime, until: datetime) -> bool:
        """Take a due payment retry: its time moves to `until` (a lease: should the holder
        crash, the payment is due again then). False when it is not due or is held."""
        statement = (
            update(Fulfillment)
            .where(Fulfillment.id == fulfillment_id, Fulfillment.payment_retry_at <= now)
            .values(payment_retry_at=until, payment_attempts=Fulfillment.payment_attempts + 1)
            .returning(Fulfillment.id)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def due_ids(self, *, now: datetime, limit: int) -> Sequence[str]:
        """Pending rows whose next attempt is due and whose lease (if any) has passed,
        oldest first. On Postgres they stay locked (SKIP LOCKED) until the claim commits,
        so concurrent workers pick disjoint rows."""
        statement = (
            select(Fulfillment.id)
            .where(
                Fulfillment.status == "pending",
                or_(Fulfillment.next_attempt_at.is_(None), Fulfillment.next_attempt_at <= now),
                or_(Fulfillment.claimed_until.is_(None), Fulfillment.claimed_until < now),
            )
            .order_by(Fulfillment.next_attempt_at)
            .limit(limit)
        )
        if self._skip_locked:
            statement = statement.with_for_update(skip_locked=True)
        return (await self.session.execute(statement)).scalars().all()

    async def claim_quiet(
        self, *, statuses: Sequence[str], quiet_since: datetime, now: datetime, limit: int
    ) -> Sequence[Fulfillment]:
        """Rows in `statuses` that CJ has told us nothing about since `quiet_since`, oldest
        news first; each is marked as synced now, so other pollers pass it by. On Postgres
        the rows are chosen with SKIP LOCKED: concurrent pollers take disjoint ones."""
        last_news = func.coalesce(Fulfillment.last_synced_at, Fulfillment.updated_at)
        statement = (
            select(Fulfillment)
            .where(Fulfillment.status.in_(statuses), last_news < quiet_since)
            .order_by(last_news)
            .limit(limit)
        )
        if self._skip_locked:
            statement = statement.with_for_update(skip_locked=True)
        rows = (await self.session.execute(statement)).scalars().all()
        for row in rows:
            row.last_synced_at = now
        await self.session.flush()
        return rows
