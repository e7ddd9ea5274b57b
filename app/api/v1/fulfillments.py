"""Fulfillments: create (idempotent), retry now, read, history, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from app.api.deps import ContainerDep
from app.api.middleware.request_id import request_id_of
from app.api.problems import PROBLEM_CONTENT_TYPE, Problem
from app.schemas.fulfillments import (
    EventList,
    EventRead,
    FulfillmentCreate,
    FulfillmentList,
    FulfillmentRead,
)
from app.schemas.rules import ID_PATTERN, ID_RULE
from app.services.fulfillments import LIST_LIMIT, MAX_KEY_LENGTH, Reply

router = APIRouter(prefix="/fulfillments", tags=["fulfillments"])


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "content": {PROBLEM_CONTENT_TYPE: {}}, "description": description}


FulfillmentId = Annotated[
    str,
    Path(max_length=40, pattern=ID_PATTERN, description=f"The service's id (`ful_…`): {ID_RULE}"),
]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem("No such fulfillment")}


@router.post(
    "",
    status_code=201,
    response_model=FulfillmentRead,
    responses={
        201: {"description": "CJ accepted the order now"},
        202: {"model": FulfillmentRead, "description": "Accepted and queued: CJ gets it later"},
        400: _problem("Idempotency-Key missing, or a body the service cannot read"),
        409: _problem("A request with this Idempotency-Key is still being processed"),
        422: _problem(
            "Invalid request (a field longer than CJ's createOrderV2 accepts is named in "
            "`errors`, type `cj_too_long`, and nothing is stored), key reused with another "
            "body, or CJ refused the order for good, e.g. 1600100 Param error (`fulfillment` "
            "carries the failed fulfillment)"
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
    reply = await container.fulfillments.create(idempotency_key, body)
    return _reply_response(reply, request)


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
        **_NOT_FOUND,
        409: _problem("Not pending (already at CJ, failed or cancelled), or being sent now"),
        422: _problem("CJ refused the order for good (`fulfillment` carries it, now failed)"),
    },
)
async def retry_fulfillment(
    fulfillment_id: FulfillmentId, request: Request, container: ContainerDep
) -> JSONResponse:
    """Send a queued (`pending`) fulfillment to CJ now rather than at its next attempt;
    answered like the create."""
    reply = await container.fulfillments.retry(fulfillment_id)
    return _reply_response(reply, request)


def _reply_response(reply: Reply, request: Request) -> JSONResponse:
    headers = dict(reply.headers)
    if reply.replayed:
        headers["Idempotent-Replayed"] = "true"
    content = reply.body
    media_type = "application/json"
    if reply.status_code >= 400:
        media_type = PROBLEM_CONTENT_TYPE
        content = {**content, "instance": request.url.path}
        request_id = request_id_of(request.scope)
        if request_id is not None:
            content["request_id"] = request_id
    return JSONResponse(
        content, status_code=reply.status_code, headers=headers, media_type=media_type
    )


@router.get(
    "",
    description="Filter by `external_id` or `order_id` (at least one is required, else 400); "
    f"at most {LIST_LIMIT} fulfillments, oldest first.",
    responses={400: _problem("Neither external_id nor order_id given")},
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
        **_NOT_FOUND,
        409: _problem(
            "CJ will not cancel it (unpaid: the merchant cancels it in MyCJ; a delete CJ "
            "refuses; paid; shipped), or it is being sent now"
        ),
        503: _problem("CJ could not be asked; nothing changed"),
    },
)
async def cancel_fulfillment(
    fulfillment_id: FulfillmentId, container: ContainerDep
) -> JSONResponse:
    result = await container.cancellations.cancel(fulfillment_id)
    body = FulfillmentRead.of(result.fulfillment).model_dump(mode="json")
    return JSONResponse(body, status_code=202 if result.dispute_requested else 200)
