"""Fulfillments: create (idempotent), retry now, read, history, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from app.api.deps import ContainerDep
from app.api.problems import PROBLEM_CONTENT_TYPE, in_request, problem_responses
from app.core.errors import InvalidRequest, UnreadableBody
from app.schemas.fulfillments import (
    EventList,
    EventRead,
    FulfillmentCreate,
    FulfillmentList,
    FulfillmentRead,
)
from app.schemas.rules import ID_PATTERN, ID_RULE
from app.services.cancellation import CancelRefused, CJUnreachable
from app.services.errors import FulfillmentNotFound
from app.services.fulfillments import (
    LIST_LIMIT,
    MAX_KEY_LENGTH,
    CreateOutcome,
    ExternalIdTaken,
    FilterMissing,
    FulfillmentFailed,
    IdempotencyKeyInUse,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    RetryRefused,
)
from app.services.options import DestinationNotServed, UnknownOption
from app.services.skus import UnknownSkus
from app.services.stock import OutOfStock

router = APIRouter(prefix="/fulfillments", tags=["fulfillments"])


FulfillmentId = Annotated[
    str,
    Path(max_length=40, pattern=ID_PATTERN, description=f"The service's id (`ful_…`): {ID_RULE}"),
]

_NOT_FOUND = problem_responses(FulfillmentNotFound)


@router.post(
    "",
    status_code=201,
    response_model=FulfillmentRead,
    responses={
        201: {"description": "CJ accepted the order now"},
        202: {"model": FulfillmentRead, "description": "Accepted and queued: CJ gets it later"},
        **problem_responses(
            IdempotencyKeyMissing,
            UnreadableBody,
            IdempotencyKeyInUse,
            ExternalIdTaken,
            InvalidRequest,
            UnknownOption,
            DestinationNotServed,
            UnknownSkus,
            OutOfStock,
            IdempotencyKeyReused,
            FulfillmentFailed,
        ),
    },
)
async def create_fulfillment(
    body: FulfillmentCreate,
    request: Request,
    container: ContainerDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=MAX_KEY_LENGTH,
            description="Required (400 without): unique per fulfillment (the store's fulfillment "
            "id); the same on retries.",
        ),
    ] = None,
) -> JSONResponse:
    outcome = await container.fulfillments.create(idempotency_key, body.to_new())
    return _answer_response(outcome, request)


@router.post(
    "/{fulfillment_id}/retry",
    status_code=201,
    response_model=FulfillmentRead,
    responses={
        201: {"description": "CJ accepted the order now"},
        202: {
            "model": FulfillmentRead,
            "description": "CJ still could not be reached: still queued, next attempt rescheduled",
        },
        **problem_responses(FulfillmentNotFound, RetryRefused, FulfillmentFailed),
    },
)
async def retry_fulfillment(
    fulfillment_id: FulfillmentId, request: Request, container: ContainerDep
) -> JSONResponse:
    """Send a queued (`pending`) fulfillment to CJ now rather than at its next attempt;
    answered like the create."""
    outcome = await container.fulfillments.retry(fulfillment_id)
    return _answer_response(outcome, request)


def _answer_response(outcome: CreateOutcome, request: Request) -> JSONResponse:
    answer = outcome.answer
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    if answer.status >= 400:
        content = in_request(answer.body, request.scope)
        return JSONResponse(
            content, status_code=answer.status, headers=headers, media_type=PROBLEM_CONTENT_TYPE
        )
    if outcome.fulfillment_id is not None:
        headers["Location"] = f"/v1/fulfillments/{outcome.fulfillment_id}"
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


@router.get(
    "",
    description="Filter by `external_id` or `order_id` (at least one is required, else 400); "
    f"at most {LIST_LIMIT} fulfillments, oldest first.",
    responses=problem_responses(FilterMissing),
)
async def list_fulfillments(
    container: ContainerDep,
    external_id: Annotated[
        str | None, Query(max_length=255, pattern=ID_PATTERN, description=ID_RULE)
    ] = None,
    order_id: Annotated[
        str | None, Query(max_length=255, pattern=ID_PATTERN, description=ID_RULE)
    ] = None,
) -> FulfillmentList:
    found = await container.fulfillments.find(external_id=external_id, order_id=order_id)
    return FulfillmentList(fulfillments=[FulfillmentRead.of(f) for f in found])


@router.get("/{fulfillment_id}", responses=_NOT_FOUND)
async def get_fulfillment(
    fulfillment_id: FulfillmentId, container: ContainerDep
) -> FulfillmentRead:
    return FulfillmentRead.of(await container.fulfillments.get(fulfillment_id))


@router.get("/{fulfillment_id}/events", responses=_NOT_FOUND)
async def list_events(fulfillment_id: FulfillmentId, container: ContainerDep) -> EventList:
    events = await container.fulfillments.events(fulfillment_id)
    return EventList(events=[EventRead.of(e) for e in events])


@router.post(
    "/{fulfillment_id}/cancel",
    response_model=FulfillmentRead,
    responses={
        200: {"description": "Cancelled (or already cancelled)"},
        202: {
            "model": FulfillmentRead,
            "description": "Paid order: a CJ refund dispute is open (`dispute_id`); the "
            "status becomes `cancelled` when CJ refunds it",
        },
        **problem_responses(FulfillmentNotFound, CancelRefused, CJUnreachable),
    },
)
async def cancel_fulfillment(
    fulfillment_id: FulfillmentId, container: ContainerDep
) -> JSONResponse:
    result = await container.cancellations.cancel(fulfillment_id)
    body = FulfillmentRead.of(result.fulfillment).model_dump(mode="json")
    return JSONResponse(body, status_code=202 if result.dispute_requested else 200)
