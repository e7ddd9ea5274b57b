"""Shipping prices at checkout."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ContainerDep
from app.schemas.rates import RateList, RateRead, RateRequest

router = APIRouter(prefix="/rates", tags=["rates"])


@router.post(
    "",
    summary="Price a cart for one option, or for every option that serves the destination",
)
async def quote_rates(body: RateRequest, container: ContainerDep) -> RateList:
    rates = await container.rates.quote(body.query())
    return RateList(rates=[RateRead.of(rate) for rate in rates])
