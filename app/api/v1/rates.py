"""Shipping prices at checkout."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.deps import container_of
from app.api.problems import problem_responses
from app.core.errors import InvalidRequest
from app.schemas.rates import RateList, RateRequest, rate_list_json
from app.services.money import UnknownCurrency
from app.services.options import DestinationNotServed, UnknownOption
from app.services.rates import CannotShip, UnknownVariant
from app.services.skus import UnknownSkus
from app.services.stock import OutOfStock

router = APIRouter(prefix="/rates", tags=["rates"])


@router.post(
    "",
    summary="Price a cart for one option, or for every option that serves the destination",
    response_model=RateList,
    responses=problem_responses(
        InvalidRequest,
        UnknownOption,
        DestinationNotServed,
        UnknownSkus,
        UnknownCurrency,
        CannotShip,
        UnknownVariant,
        OutOfStock,
    ),
)
async def quote_rates(body: RateRequest, request: Request) -> Response:
    # Checkout's hot path: the container from the app (not a dependency FastAPI solves per
    # request) and the answer's bytes written at once (not a model validated, then dumped).
    rates = await container_of(request).rates.quote(body.query())
    return Response(rate_list_json(rates), media_type="application/json")
