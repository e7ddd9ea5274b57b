"""API shapes for `POST /v1/rates`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, model_validator
from typing_extensions import TypedDict

from app.schemas.options import EtaDaysRead
from app.schemas.rules import Quantity, StrictInput, id_field, text_field
from app.services.rates import PricedRate, RateQuery
from app.services.skus import ItemRef

CountryCode = Annotated[
    str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2, any case")
]


class Destination(StrictInput):
    """Where the cart goes; a country no option serves is 422 `destination-not-served`."""

    country_code: CountryCode
    province: Annotated[str, text_field(128)] | None = None
    city: Annotated[str, text_field(128)] | None = None
    zip: Annotated[str, text_field(32)] | None = None


class RateItem(StrictInput):
    """One cart line: a `vid`, or a `sku` mapped to one (an unmapped SKU is 422
    `unknown-sku`); at least one of the two."""

    sku: Annotated[str, text_field(128, min_length=1, description="The store's SKU:")] | None = None
    vid: Annotated[str, id_field(128, "CJ's variant id:")] | None = None
    quantity: Quantity

    @model_validator(mode="after")
    def _sku_or_vid(self) -> RateItem:
        if self.sku is None and self.vid is None:
            raise ValueError("an item needs `sku` or `vid`")
        return self


class RateRequest(StrictInput):
    option_id: Annotated[str, id_field(64)] | None = Field(
        default=None,
        description="Price this option only (422 when unknown or it does not serve the "
        "destination); without it, every option that serves the destination",
    )
    destination: Destination
    items: Annotated[list[RateItem], Field(min_length=1, max_length=250)]
    currency: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z]{3}$",
            description="ISO 4217, any case (Medusa sends usd). It must be a currency the "
            "options file has an exchange rate for (the default file: USD, CAD, EUR, GBP); "
            "any other is 422 `unknown-currency`",
        ),
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


# The answer's document (OpenAPI); `rate_list_json` writes it (a docstring would show there).
class RateList(BaseModel):
    rates: list[RateRead]


class _EtaDaysJson(TypedDict):
    min: int
    max: int


class _RateJson(TypedDict):
    option_id: str
    amount: str
    currency: str
    source: Literal["live", "cache", "stale", "static"]
    logistic_name: str
    eta_days: _EtaDaysJson
    expires_at: datetime


class _RateListJson(TypedDict):
    rates: list[_RateJson]


# RateList's fields in its order and types, as plain dicts: pydantic writes the same bytes
# as for the model without building and validating a model per rate (checkout's hot path).
_RATE_LIST_JSON = TypeAdapter(_RateListJson)


def rate_list_json(rates: Sequence[PricedRate]) -> bytes:
    """The answer to `POST /v1/rates`, byte for byte what FastAPI sends for a `RateList`."""
    return _RATE_LIST_JSON.dump_json(
        {
            "rates": [
                {
                    "option_id": rate.option_id,
                    "amount": str(rate.amount),
                    "currency": rate.currency,
                    "source": rate.source,
                    "logistic_name": rate.logistic_name,
                    "eta_days": {"min": rate.eta_days[0], "max": rate.eta_days[1]},
                    "expires_at": rate.expires_at,
                }
                for rate in rates
            ]
        }
    )
