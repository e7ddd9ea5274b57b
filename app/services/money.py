"""Amounts in a currency: conversion through the configured USD rates, and rounding.

CJ quotes in USD. The options file gives, for each currency the store sells in, how many
units of it one USD buys; an amount moves between two currencies through USD.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from app.core.errors import Unprocessable

# ISO 4217 currencies whose minor unit is not the cent; every other one has 2 decimals.
_DECIMALS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI"),
        0,
    ),
    **dict.fromkeys(("VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


class UnknownCurrency(Unprocessable):
    type_slug = "unknown-currency"
    description = "`unknown-currency`: no exchange rate for the currency"

    def __init__(self, currency: str, known: list[str]) -> None:
        super().__init__(
            f"No exchange rate for currency {currency}; the options file has: "
            f"{', '.join(sorted(known))}. Add it under `exchange_rates`.",
            extra={"currency": currency},
        )


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency` (0.01 for USD, 1 for JPY)."""
    return Decimal(1).scaleb(-_DECIMALS.get(currency, 2))


def round_for(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


class ExchangeRates:
    """Units of each currency per 1 USD (USD itself is 1)."""

    def __init__(self, per_usd: dict[str, Decimal]) -> None:
        self._per_usd = {code.upper(): rate for code, rate in per_usd.items()}

    def require(self, currency: str) -> str:
        """The currency in upper case, or UnknownCurrency (a 422) when it has no rate."""
        code = currency.strip().upper()
        if code not in self._per_usd:
            raise UnknownCurrency(code, list(self._per_usd))
        return code

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal:
        if source == target:
            return amount
        return amount / self._per_usd[source] * self._per_usd[target]
