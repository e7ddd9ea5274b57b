"""Shipping prices at checkout."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ContainerDep
from app.api.problems import problem_responses
from app.core.errors import InvalidRequest
from app.schemas.rates import RateList, RateRead, RateRequest
from app.services.money import UnknownCurrency
from app.services.options import DestinationNotServed, UnknownOption
from app.services.rates import CannotShip, UnknownVariant
from app.services.skus import UnknownSkus
from app.services.stock import OutOfStock

router = APIRouter(prefix="/rates", tags=["rates"])


@router.post(
    "",
    summary="Price a cart for one option, or for every option that serves the destination",
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
async def quote_rates(body: RateRequest, container: ContainerDep) -> RateList:
    rates = await container.rates.quote(body.query())
    return RateList(rates=[RateRead.of(rate) for rate in rates])
