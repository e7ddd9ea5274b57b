"""Fulfillment options from the YAML file named by OPTIONS_FILE, validated at start.

A broken file stops the service with a message naming the file, the option and the
field, rather than surfacing later as a wrong price at checkout.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.core.errors import Unprocessable

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
NonNegativeMoney = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]


class OptionsFileError(ValueError):
    """The options file cannot be used; the message says where and why."""


class UnknownOption(Unprocessable):
    type_slug = "unknown-option"
    description = "`unknown-option`: no option has this `option_id` (the known ones are named)"

    def __init__(self, option_id: str, known: Sequence[str]) -> None:
        super().__init__(
            f"Unknown option_id {option_id!r}; known options: {', '.join(known)}.",
            extra={"option_id": option_id},
        )


class DestinationNotServed(Unprocessable):
    type_slug = "destination-not-served"
    description = "`destination-not-served`: the option (or every option) does not ship there"

    def __init__(self, detail: str, country_code: str) -> None:
        super().__init__(detail, extra={"country_code": country_code})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EtaDays(_Strict):
    min: int = Field(ge=0)
    max: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> EtaDays:
        if self.max < self.min:
            raise ValueError("max must be at least min")
        return self


class StaticRate(_Strict):
    first_item: NonNegativeMoney
    additional_item: NonNegativeMoney = Decimal(0)

    def price(self, quantity: int) -> Decimal:
        return self.first_item + self.additional_item * max(quantity - 1, 0)


class Markup(_Strict):
    percent: Annotated[Decimal, Field(ge=0, le=1000)] = Decimal(0)
    fixed: NonNegativeMoney = Decimal(0)

    def apply(self, amount: Decimal) -> Decimal:
        return amount * (1 + self.percent / 100) + self.fixed


class FulfillmentOption(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    name: Annotated[str, Field(min_length=1, max_length=128)]
    from_country: CountryCode
    logistics: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    destinations: Annotated[list[CountryCode], Field(min_length=1)]
    eta_days: EtaDays
    currency: CurrencyCode = "USD"
    static_rates: dict[CountryCode, StaticRate]
    markup: Markup = Markup()
    free: bool = False

    @model_validator(mode="after")
    def _static_rate_per_destination(self) -> FulfillmentOption:
        missing = [c for c in self.destinations if c not in self.static_rates]
        if missing:
            raise ValueError(f"static_rates has no entry for {', '.join(missing)}")
        zero = [c for c, rate in self.static_rates.items() if rate.first_item <= 0]
        if zero and not self.free:
            raise ValueError(
                f"static_rates for {', '.join(zero)} charge nothing; "
                "only an option marked `free: true` may be priced 0"
            )
        return self

    def serves(self, country_code: str) -> bool:
        return country_code.upper() in self.destinations


class OptionsFile(_Strict):
    exchange_rates: dict[CurrencyCode, Annotated[Decimal, Field(gt=0)]] = {"USD": Decimal(1)}
    options: Annotated[list[FulfillmentOption], Field(min_length=1)]

    @field_validator("exchange_rates")
    @classmethod
    def _usd_is_one(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        if rates.get("USD", Decimal(1)) != 1:
            raise ValueError("USD must be 1 (CJ quotes in USD)")
        return {"USD": Decimal(1), **rates}

    @model_validator(mode="after")
    def _consistent(self) -> OptionsFile:
        seen: set[str] = set()
        for option in self.options:
            if option.id in seen:
                raise ValueError(f"option id {option.id!r} is used twice")
            seen.add(option.id)
            if option.currency not in self.exchange_rates:
                raise ValueError(
                    f"option {option.id!r}: currency {option.currency} has no exchange rate"
                )
        return self


class OptionsCatalog:
    """The validated options, looked up by id or destination."""

    def __init__(self, source: OptionsFile) -> None:
        self._source = source
        self._by_id = {option.id: option for option in source.options}

    @property
    def options(self) -> list[FulfillmentOption]:
        return list(self._source.options)

    @property
    def exchange_rates(self) -> dict[str, Decimal]:
        return dict(self._source.exchange_rates)

    def get(self, option_id: str) -> FulfillmentOption | None:
        return self._by_id.get(option_id)

    def require(self, option_id: str) -> FulfillmentOption:
        """The option with this id; `UnknownOption`, naming the known ones, otherwise."""
        option = self._by_id.get(option_id)
        if option is None:
            raise UnknownOption(option_id, [o.id for o in self._source.options])
        return option

    def require_serving(self, option_id: str, country_code: str) -> FulfillmentOption:
        """The option with this id, which must ship to the country (`DestinationNotServed`)."""
        option = self.require(option_id)
        if not option.serves(country_code):
            raise DestinationNotServed(
                f"Option {option.id!r} does not ship to {country_code}; it serves "
                f"{', '.join(option.destinations)}.",
                country_code,
            )
        return option

    def serving(self, country_code: str) -> list[FulfillmentOption]:
        return [option for option in self._source.options if option.serves(country_code)]

    @classmethod
    def load(cls, path: Path) -> OptionsCatalog:
        try:
            raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise OptionsFileError(f"{path}: cannot read the options file ({exc})") from exc
        except yaml.YAMLError as exc:
            raise OptionsFileError(f"{path}: not valid YAML ({exc})") from exc
        try:
            return cls(OptionsFile.model_validate(raw))
        except ValidationError as exc:
            raise OptionsFileError(_describe(path, raw, exc)) from exc


def _describe(path: Path, raw: Any, exc: ValidationError) -> str:
    lines = [f"{path}: invalid options file"]
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(part) for part in loc) or "(top level)"
        if len(loc) >= 2 and loc[0] == "options" and isinstance(loc[1], int):
            option_id = _option_id(raw, loc[1])
            field = ".".join(str(part) for part in loc[2:]) or "(the option)"
            where = f"option {option_id!r}, field {field}"
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)


def _option_id(raw: Any, index: int) -> str:
    try:
        value = raw["options"][index]["id"]
    except (KeyError, IndexError, TypeError):
        return f"#{index + 1}"
    return str(value)
