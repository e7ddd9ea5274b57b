"""API shapes for `POST /v1/rates`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas.options import EtaDaysRead
from app.services.rates import PricedRate, RateQuery
from app.services.skus import ItemRef

CountryCode = Annotated[
    str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2, any case")
]


class Destination(BaseModel):
    model_config = ConfigDict(extra="ignore")

    country_code: CountryCode
    province: Annotated[str, Field(max_length=128)] | None = None
    city: Annotated[str, Field(max_length=128)] | None = None
    zip: Annotated[str, Field(max_length=32)] | None = None


class RateItem(BaseModel):
    sku: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    vid: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    quantity: Annotated[int, Field(ge=1, le=10_000)]

    @model_validator(mode="after")
    def _sku_or_vid(self) -> RateItem:
        if self.sku is None and self.vid is None:
            raise ValueError("an item needs `sku` or `vid`")
        return self


class RateRequest(BaseModel):
    option_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Price this option only; without it, every option that serves"
    )
    destination: Destination
    items: Annotated[list[RateItem], Field(min_length=1, max_length=250)]
    currency: Annotated[
        str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217, any case (Medusa sends usd)")
    ]

    def query(self) -> RateQuery:
        return RateQuery(
            option_id=self.option_id,
            country_code=self.destination.country_code,
            zip=self.destination.zip,
            items=[ItemRef(sku=i.sku, vid=i.vid, quantity=i.quantity) for i in self.items],
            currency=self.currency,
        )


class RateRead(BaseModel):
    option_id: str
    amount: str = Field(description="Decimal string in major units, rounded for the currency")
    currency: str
    source: Literal["live", "cache", "stale", "static"]
    logistic_name: str
    eta_days: EtaDaysRead
    expires_at: datetime

    @classmethod
    def of(cls, rate: PricedRate) -> RateRead:
        return cls(
            option_id=rate.option_id,
            amount=str(rate.amount),
            currency=rate.currency,
            source=rate.source,
            logistic_name=rate.logistic_name,
            eta_days=EtaDaysRead(min=rate.eta_days[0], max=rate.eta_days[1]),
            expires_at=rate.expires_at,
        )


class RateList(BaseModel):
    rates: list[RateRead]
