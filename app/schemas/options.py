"""API shapes for fulfillment options."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

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


class OptionValidate(BaseModel):
    option_id: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)


class OptionValidation(BaseModel):
    valid: bool
    option: OptionRead
