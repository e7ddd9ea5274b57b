"""Fulfillments: create (idempotent, validated, stored before CJ is called), retry, read.

`create` follows the IETF Idempotency-Key draft: the first request with a key is
processed and its answer stored; the same key with the same body gets that answer again;
with another body it is refused (422); while the first is still being processed, a
duplicate is refused (409). The fulfillment row and the key are committed together, as
`pending`, before CJ is called, so an accepted request is never lost: if this process
dies, a worker places the order, and a retry with the key gets the row's state.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import utcnow
from app.core.config import Settings
from app.core.errors import BadRequest, Conflict, NotFound, Unprocessable, problem_document
from app.db.models import Fulfillment, FulfillmentEvent, FulfillmentItem, IdempotencyKey
from app.db.repositories.fulfillments import FulfillmentRepository
from app.db.repositories.idempotency import IdempotencyRepository
from app.db.session import transaction
from app.schemas.fulfillments import FulfillmentCreate, FulfillmentRead
from app.services.options import FulfillmentOption, OptionsCatalog
from app.services.skus import ItemRef, ResolvedItem, VariantResolver
from app.services.statuses import Status
from app.services.submission import Submitter
from app.services.transitions import transition

log = structlog.get_logger(__name__)

# How long a request holds its key before a retry may take over (its holder died).
KEY_LOCK_SECONDS = 60.0
MAX_KEY_LENGTH = 255
LIST_LIMIT = 100


@dataclass(frozen=True)
class Reply:
    """An answer to `POST /v1/fulfillments`, as first given or as replayed."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class FulfillmentFailed(Unprocessable):
    type_slug = "fulfillment-failed"


def new_fulfillment_id() -> str:
    """`ful_` + 32 hex digits: also the CJ orderNumber (at most 50 characters)."""
    return f"ful_{uuid.uuid4().hex}"


def request_fingerprint(request: FulfillmentCreate) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def reply_for(fulfillment: Fulfillment) -> Reply:
    """201 when CJ has the order, 202 while it is queued, 422 when CJ refused it."""
    body = FulfillmentRead.of(fulfillment).model_dump(mode="json")
    if fulfillment.status == Status.failed:
        error = FulfillmentFailed(
            fulfillment.status_reason or "CJ refused the order.", extra={"fulfillment": body}
        )
        return Reply(error.status_code, problem_document(error))
    location = {"Location": f"/v1/fulfillments/{fulfillment.id}"}
    if fulfillment.status == Status.pending:
        return Reply(202, body, headers=location)
    return Reply(201, body, headers=location)


class FulfillmentService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        options: OptionsCatalog,
        variants: VariantResolver,
        submitter: Submitter,
        settings: Settings,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._options = options
        self._variants = variants
        self._submitter = submitter
        self._settings = settings

    # Create

    async def create(self, key: str | None, request: FulfillmentCreate) -> Reply:
        key = self._checked_key(key)
        fingerprint = request_fingerprint(request)
        async with self._sessionmaker() as session:
            existing = await IdempotencyRepository(session).get(key)
        if existing is not None:
            return await self._repeat(existing, fingerprint)

        option = self._option_for(request)
        items = await self._variants.resolve(
            [ItemRef(sku=i.sku, vid=i.vid, quantity=i.quantity) for i in request.items]
        )
        fulfillment = self._new_row(request, option, items)
        self._check_cj_limits(fulfillment)
        try:
            async with transaction(self._sessionmaker) as session:
                repository = FulfillmentRepository(session)
                await repository.add(fulfillment)
                await transition(
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
            if existing is None:
                raise
            return await self._repeat(existing, fingerprint)
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
        reply = reply_for(result.fulfillment or fulfillment)
        await self._store(key, reply)
        return reply

    # Retry now

    async def retry(self, fulfillment_id: str) -> Reply:
        """Try a queued (`pending`) fulfillment at CJ now instead of at its next attempt,
        within the same budget as a create; answered like a create (201 placed, 202 still
        queued with its next attempt rescheduled, 422 refused). Anything but a pending row,
        or one a submitter is sending now, is a Conflict."""
        fulfillment = await self.get(fulfillment_id)
        if fulfillment.status != Status.pending:
            raise Conflict(
                f"Fulfillment {fulfillment_id!r} is {fulfillment.status}: only a pending "
                "(queued) fulfillment can be retried."
            )
        maybe_at_cj = await self._submitter.claim(fulfillment_id)
        if maybe_at_cj is None:
            raise Conflict(
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
        return reply_for(result.fulfillment or await self.get(fulfillment_id))

    def _checked_key(self, key: str | None) -> str:
        if key is None or not key.strip():
            raise BadRequest(
                "The Idempotency-Key header is required: send a unique value per fulfillment "
                "(the store's fulfillment id works) and the same value on every retry."
            )
        if len(key) > MAX_KEY_LENGTH:
            raise BadRequest(f"The Idempotency-Key header is longer than {MAX_KEY_LENGTH}.")
        return key.strip()

    async def _repeat(self, record: IdempotencyKey, fingerprint: str) -> Reply:
        if record.request_hash != fingerprint:
            raise Unprocessable(
                "This Idempotency-Key was already used with a different request body; "
                "use a new key for a new fulfillment."
            )
        if record.state == "completed" and record.response_status is not None:
            body = dict(record.response_body or {})
            headers = {}
            if record.response_status < 400 and record.fulfillment_id is not None:
                headers["Location"] = f"/v1/fulfillments/{record.fulfillment_id}"
            return Reply(record.response_status, body, replayed=True, headers=headers)
        now = utcnow()
        locked_until = record.locked_until
        if locked_until is not None and locked_until > now:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                retry_after_seconds=1,
            )
        # Its holder died after committing the row: answer from the row as it is now.
        async with transaction(self._sessionmaker) as session:
            won = locked_until is not None and await IdempotencyRepository(session).take_over(
                record.key, expired=locked_until, until=now + timedelta(seconds=KEY_LOCK_SECONDS)
            )
        if not won or record.fulfillment_id is None:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                retry_after_seconds=1,
            )
        fulfillment = await self.get(record.fulfillment_id)
        reply = reply_for(fulfillment)
        await self._store(record.key, reply)
        return Reply(reply.status_code, reply.body, replayed=True, headers=reply.headers)

    async def _store(self, key: str, reply: Reply) -> None:
        async with transaction(self._sessionmaker) as session:
            await IdempotencyRepository(session).complete(
                key, status=reply.status_code, body=reply.body
            )

    def _option_for(self, request: FulfillmentCreate) -> FulfillmentOption:
        return self._options.require_serving(
            request.option_id, request.shipping_address.country_code
        )

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
        self, request: FulfillmentCreate, option: FulfillmentOption, items: Sequence[ResolvedItem]
    ) -> Fulfillment:
        fulfillment_id = new_fulfillment_id()
        now = utcnow()
        address = request.shipping_address
        return Fulfillment(
            id=fulfillment_id,
            external_id=request.external_id,
            order_id=request.order_id,
            option_id=option.id,
            status=Status.pending.value,
            cj_order_number=fulfillment_id,
            logistic_name=option.logistics[0],
            from_country=option.from_country,
            shipping_address={
                **address.model_dump(exclude_none=True),
                "country": address.country_name,
            },
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
                )
                for line, resolved in zip(request.items, items, strict=True)
            ],
        )

    # Read

    async def get(self, fulfillment_id: str) -> Fulfillment:
        async with self._sessionmaker() as session:
            fulfillment = await FulfillmentRepository(session).get(fulfillment_id)
        if fulfillment is None:
            raise NotFound(f"No fulfillment {fulfillment_id!r}.")
        return fulfillment

    async def find(self, *, external_id: str | None, order_id: str | None) -> list[Fulfillment]:
        if external_id is None and order_id is None:
            raise BadRequest("Filter by `external_id` or `order_id`.")
        async with self._sessionmaker() as session:
            found = await FulfillmentRepository(session).find(
                external_id=external_id, order_id=order_id, limit=LIST_LIMIT
            )
        return list(found)

    async def events(self, fulfillment_id: str) -> list[FulfillmentEvent]:
        async with self._sessionmaker() as session:
            repository = FulfillmentRepository(session)
            if await repository.get(fulfillment_id) is None:
                raise NotFound(f"No fulfillment {fulfillment_id!r}.")
            return list(await repository.events(fulfillment_id))
