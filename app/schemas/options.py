"""API shapes for fulfillment options."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from app.schemas.rules import StrictInput, id_field
from app.services.options import FulfillmentOption


class EtaDaysRead(BaseModel):
    min: int
    max: int


class OptionRead(BaseModel):
    id: str
    name: str
    from_country: str
    destinations: list[str]
    eta_days: EtaDaysRead
    calculated: bool = True

    @classmethod
    def of(cls, option: FulfillmentOption) -> OptionRead:
        return cls(
            id=option.id,
            name=option.name,
            from_country=option.from_country,
            destinations=list(option.destinations),
            eta_days=EtaDaysRead(min=option.eta_days.min, max=option.eta_days.max),
        )


class OptionList(BaseModel):
    options: list[OptionRead]


class OptionValidate(StrictInput):
    option_id: Annotated[str, id_field(64, "One of GET /v1/fulfillment-options (422 if not):")]
    data: dict[str, Any] = Field(
        default_factory=dict, description="The option's data as the store keeps it (not read)"
    )


class OptionValidation(BaseModel):
    valid: bool
    option: OptionRead
