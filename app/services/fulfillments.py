"""Fulfillments: create (idempotent, validated, stored before CJ is called), retry, read.

`create` follows the IETF Idempotency-Key draft: the first request with a key is
processed and its answer stored; the same key with the same body gets that answer again;
with another body it is refused (422); while the first is still being processed, a
duplicate is refused (409). The fulfillment row and the key are committed together, as
`pending`, before CJ is called, so an accepted request is never lost: if this process
dies, a worker places the order, and a retry with the key gets the row's state.

The service knows no HTTP: it says how the order was placed (`Placement`), and the
`AnswerFor` it is given (the API's) turns that into the answer it stores for replays.

Before a new row, the live fulfillment that already answers the request is looked for
(services.fulfillment_matching): the same external_id under another key, or one the store
lost and fulfils again; either is answered as it is, and no second CJ order is placed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import utcnow
from app.core.config import Settings
from app.core.errors import BadRequest, Conflict, Unprocessable
from app.db.models import Fulfillment, FulfillmentEvent, FulfillmentItem, IdempotencyKey
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.repositories.idempotency import IdempotencyRepository, StoredAnswer
from app.db.session import transaction
from app.services.errors import FulfillmentNotFound
from app.services.fulfillment_matching import forgotten_match, same_request
from app.services.options import FulfillmentOption, OptionsCatalog
from app.services.skus import ItemRef, ResolvedItem, VariantResolver
from app.services.statuses import Status
from app.services.stock import StockGuard
from app.services.submission import Submitter
from app.services.transitions import StatusChanges

log = structlog.get_logger(__name__)

# How long a request holds its key before a retry may take over (its holder died).
KEY_LOCK_SECONDS = 60.0
MAX_KEY_LENGTH = 255
LIST_LIMIT = 100


class Placement(StrEnum):
    """How a new fulfillment's order was placed when its request was answered."""

    created = "created"  # CJ has the order
    queued = "queued"  # stored as pending; the worker places it (CJ slow, down, limited)
    refused = "refused"  # CJ refused it for good: the fulfillment is `failed`, with the reason


def placement_of(fulfillment: Fulfillment) -> Placement:
    if fulfillment.status == Status.failed:
        return Placement.refused
    if fulfillment.status == Status.pending:
        return Placement.queued
    return Placement.created


AnswerFor = Callable[[Placement, Fulfillment], StoredAnswer]
"""How the API answers a placement; the answer is stored, so a replay gives it again."""


@dataclass(frozen=True)
class NewFulfillmentItem:
    line_item_id: str
    sku: str | None
    vid: str | None
    quantity: int
    fulfilled_quantity: int = 0  # the store's count of this line already fulfilled
    pod_properties: list[dict[str, Any]] | None = None  # CJ's podProperties entries


@dataclass(frozen=True)
class NewFulfillment:
    """A fulfillment to place, as the API accepted it (its shape already validated)."""

    external_id: str
    order_id: str
    option_id: str
    country_code: str
    shipping_address: dict[str, Any]  # stored as given, with the country's name
    items: Sequence[NewFulfillmentItem]
    metadata: dict[str, Any] | None
    fingerprint: str  # of the request body: tells a retry from another use of its key


@dataclass(frozen=True)
class CreateOutcome:
    """What `create` did: placed the order now (`placement`), or replayed the answer an
    earlier request with the key got (`replayed`, `placement` None when it came from the
    stored answer). `answer` is what the caller gets either way."""

    answer: StoredAnswer
    fulfillment_id: str | None
    placement: Placement | None
    replayed: bool = False


class FulfillmentFailed(Unprocessable):
    type_slug = "fulfillment-failed"
    description = (
        "`fulfillment-failed`: CJ refused the order for good (`fulfillment` carries the "
        "failed fulfillment)"
    )


class IdempotencyKeyMissing(BadRequest):
    description = f"Idempotency-Key missing, or longer than {MAX_KEY_LENGTH} characters"


class ExternalIdTaken(Conflict):
    description = (
        "`external_id` already has a live fulfillment with another order, option or items "
        "(`fulfillment_id` names it)"
    )


class IdempotencyKeyInUse(Conflict):
    description = "A request with this Idempotency-Key is still being processed"

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            retry_after_seconds=1,
        )


class IdempotencyKeyReused(Unprocessable):
    description = "Idempotency-Key reused with another body"


class RetryRefused(Conflict):
    description = "Not pending (already at CJ, failed or cancelled), or being sent now"


class FilterMissing(BadRequest):
    description = "Neither external_id nor order_id given"


def new_fulfillment_id() -> str:
    """`ful_` + 32 hex digits: also the CJ orderNumber (at most 50 characters)."""
    return f"ful_{uuid.uuid4().hex}"


class FulfillmentService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        options: OptionsCatalog,
        variants: VariantResolver,
        stock: StockGuard,
        submitter: Submitter,
        settings: Settings,
        answer_for: AnswerFor,
        changes: StatusChanges,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._options = options
        self._variants = variants
        self._stock = stock
        self._submitter = submitter
        self._settings = settings
        self._answer_for = answer_for
        self._changes = changes

    # Create

    async def create(self, key: str | None, request: NewFulfillment) -> CreateOutcome:
        key = self._checked_key(key)
        fingerprint = request.fingerprint
        async with self._sessionmaker() as session:
            existing = await IdempotencyRepository(session).get(key)
        if existing is not None:
            return await self._repeat(existing, fingerprint)

        matched = await self._answered_by_live(request)
        if matched is not None:
            return self._placed(matched, replayed=False)
        option = self._options.require_serving(request.option_id, request.country_code)
        items = await self._variants.resolve(
            [ItemRef(sku=i.sku, vid=i.vid, quantity=i.quantity) for i in request.items]
        )
        await self._stock.require(items, option.from_country)  # before anything is stored
        fulfillment = self._new_row(request, option, items)
        self._check_cj_limits(fulfillment)
        try:
            async with transaction(self._sessionmaker) as session:
                repository = FulfillmentRepository(session)
                await repository.add(fulfillment)
                await self._changes.move(
                    repository, fulfillment, Status.pending, source="api", initial=True
                )
                await IdempotencyRepository(session).add(
                    IdempotencyKey(
                        key=key,
                        request_hash=fingerprint,
                        state="in_progress",
                        fulfillment_id=fulfillment.id,
                        locked_until=utcnow() + timedelta(seconds=KEY_LOCK_SECONDS),
                    )
                )
        except IntegrityError:
            async with self._sessionmaker() as session:
                existing = await IdempotencyRepository(session).get(key)
            if existing is not None:
                return await self._repeat(existing, fingerprint)
            # Another key won the race for this external_id (one live row per external_id).
            matched = await self._answered_by_live(request)
            if matched is None:
                raise
            return self._placed(matched, replayed=False)
        log.info(
            "fulfillment_accepted",
            fulfillment_id=fulfillment.id,
            external_id=fulfillment.external_id,
            option_id=fulfillment.option_id,
            items=len(items),
        )

        result = await self._submitter.submit_claimed(
            fulfillment.id,
            maybe_at_cj=False,
            deadline=time.monotonic() + self._settings.submit_budget_ms / 1000,
            source="api",
        )
        placed = result.fulfillment or fulfillment
        outcome = self._placed(placed, replayed=False)
        await self._store(key, outcome.answer)
        return outcome

    def _placed(self, fulfillment: Fulfillment, *, replayed: bool) -> CreateOutcome:
        placement = placement_of(fulfillment)
        return CreateOutcome(
            answer=self._answer_for(placement, fulfillment),
            fulfillment_id=fulfillment.id,
            placement=placement,
            replayed=replayed,
        )

    # Retry now

    async def retry(self, fulfillment_id: str) -> CreateOutcome:
        """Try a queued (`pending`) fulfillment at CJ now instead of at its next attempt,
        within the same budget as a create; answered like a create (201 placed, 202 still
        queued with its next attempt rescheduled, 422 refused). Anything but a pending row,
        or one a submitter is sending now, is a Conflict."""
        fulfillment = await self.get(fulfillment_id)
        if fulfillment.status != Status.pending:
            raise RetryRefused(
                f"Fulfillment {fulfillment_id!r} is {fulfillment.status}: only a pending "
                "(queued) fulfillment can be retried."
            )
        maybe_at_cj = await self._submitter.claim(fulfillment_id)
        if maybe_at_cj is None:
            raise RetryRefused(
                f"Fulfillment {fulfillment_id!r} is being sent to CJ right now (or just "
                "was); read it again in a moment."
            )
        log.info("fulfillment_retry_requested", fulfillment_id=fulfillment_id)
        result = await self._submitter.submit_claimed(
            fulfillment_id,
            maybe_at_cj=maybe_at_cj,
            deadline=time.monotonic() + self._settings.submit_budget_ms / 1000,
            source="api",
        )
        placed = result.fulfillment or await self.get(fulfillment_id)
        return self._placed(placed, replayed=False)

    async def _answered_by_live(self, request: NewFulfillment) -> Fulfillment | None:
        """The live fulfillment that already answers `request` (see fulfillment_matching),
        adopted under the request's external_id when the store lost it; None when the
        request needs a new one. Raises Conflict for an external_id that is live with
        other lines."""
        async with transaction(self._sessionmaker) as session:
            repository = FulfillmentRepository(session)
            same_id = await repository.live_by_external_id(request.external_id)
            if same_id is not None:
                if not same_request(same_id, request):
                    raise ExternalIdTaken(
                        f"external_id {request.external_id!r} already has a live fulfillment, "
                        f"{same_id.id}, with another order, option or items; cancel it first "
                        "or use a new external_id.",
                        extra={"fulfillment_id": same_id.id},
                    )
                return same_id
            forgotten = forgotten_match(await repository.live_for_order(request.order_id), request)
            if forgotten is None:
                return None
            previous = forgotten.external_id
            forgotten.external_id = request.external_id
            forgotten.updated_at = utcnow()
            await repository.add_event(
                FulfillmentEvent(
                    fulfillment_id=forgotten.id,
                    source="api",
                    from_status=forgotten.status,
                    to_status=forgotten.status,
                    detail={
                        "adopted_by": request.external_id,
                        "previous_external_id": previous,
                    },
                    created_at=forgotten.updated_at,
                )
            )
        log.info(
            "fulfillment_adopted",
            fulfillment_id=forgotten.id,
            external_id=request.external_id,
            previous_external_id=previous,
        )
        return forgotten

    def _checked_key(self, key: str | None) -> str:
        if key is None or not key.strip():
            raise IdempotencyKeyMissing(
                "The Idempotency-Key header is required: send a unique value per fulfillment "
                "(the store's fulfillment id works) and the same value on every retry."
            )
        if len(key) > MAX_KEY_LENGTH:
            raise IdempotencyKeyMissing(
                f"The Idempotency-Key header is longer than {MAX_KEY_LENGTH}."
            )
        return key.strip()

    async def _repeat(self, record: IdempotencyKey, fingerprint: str) -> CreateOutcome:
        if record.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request body; "
                "use a new key for a new fulfillment."
            )
        if record.state == "completed" and record.response_status is not None:
            stored = StoredAnswer(record.response_status, dict(record.response_body or {}))
            return CreateOutcome(stored, record.fulfillment_id, placement=None, replayed=True)
        now = utcnow()
        locked_until = record.locked_until
        if locked_until is not None and locked_until > now:
            raise IdempotencyKeyInUse()
        # Its holder died after committing the row: answer from the row as it is now.
        async with transaction(self._sessionmaker) as session:
            won = locked_until is not None and await IdempotencyRepository(session).take_over(
                record.key, expired=locked_until, until=now + timedelta(seconds=KEY_LOCK_SECONDS)
            )
        if not won or record.fulfillment_id is None:
            raise IdempotencyKeyInUse()
        outcome = self._placed(await self.get(record.fulfillment_id), replayed=True)
        await self._store(record.key, outcome.answer)
        return outcome

    async def _store(self, key: str, answer: StoredAnswer) -> None:
        async with transaction(self._sessionmaker) as session:
            await IdempotencyRepository(session).complete(key, answer)

    def _check_cj_limits(self, fulfillment: Fulfillment) -> None:
        """The CJ body as it will be sent, against CJ's documented lengths: a field CJ
        would refuse (1600100) is a 422 that names it, and nothing is stored."""
        problems = self._submitter.fields_too_long(fulfillment)
        if problems:
            raise Unprocessable(
                "The fulfillment has fields longer than CJ accepts; nothing was stored.",
                extra={
                    "errors": [
                        {
                            "field": f"body.{p.source_field}",
                            "message": p.message,
                            "type": "cj_too_long",
                        }
                        for p in problems
                    ]
                },
            )

    def _new_row(
        self, request: NewFulfillment, option: FulfillmentOption, items: Sequence[ResolvedItem]
    ) -> Fulfillment:
        fulfillment_id = new_fulfillment_id()
        now = utcnow()
        return Fulfillment(
            id=fulfillment_id,
            external_id=request.external_id,
            order_id=request.order_id,
            option_id=option.id,
            status=Status.pending.value,
            cj_order_number=fulfillment_id,
            logistic_name=option.logistics[0],
            from_country=option.from_country,
            shipping_address=dict(request.shipping_address),
            meta=request.metadata,
            tracking=[],
            tracking_events=[],
            # The API's own attempt holds the lease; the worker takes over if it gives up,
            # or once the lease has passed if this process dies mid-way.
            attempts=1,
            claimed_until=now + self._submitter.lease,
            may_be_at_cj=True,
            created_at=now,
            updated_at=now,
            items=[
                FulfillmentItem(
                    line_item_id=line.line_item_id,
                    sku=resolved.sku,
                    vid=resolved.vid,
                    quantity=resolved.quantity,
                    pod_properties=line.pod_properties,
                )
                for line, resolved in zip(request.items, items, strict=True)
            ],
        )

    # Read

    async def get(self, fulfillment_id: str) -> Fulfillment:
        async with self._sessionmaker() as session:
            fulfillment = await FulfillmentRepository(session).get(fulfillment_id)
        if fulfillment is None:
            raise FulfillmentNotFound(fulfillment_id)
        return fulfillment

    async def find(self, *, external_id: str | None, order_id: str | None) -> list[Fulfillment]:
        if external_id is None and order_id is None:
            raise FilterMissing("Filter by `external_id` or `order_id`.")
        async with self._sessionmaker() as session:
            found = await FulfillmentRepository(session).find(
                external_id=external_id, order_id=order_id, limit=LIST_LIMIT
            )
        return list(found)

    async def events(self, fulfillment_id: str) -> list[FulfillmentEvent]:
        async with self._sessionmaker() as session:
            repository = FulfillmentRepository(session)
            if await repository.get(fulfillment_id) is None:
                raise FulfillmentNotFound(fulfillment_id)
            return list(await repository.events(fulfillment_id))
