"""The rates answer is written straight to bytes (`rate_list_json`); it must stay, byte for
byte, what FastAPI wrote when the route returned a validated `RateList` model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import TypeAdapter

from app.schemas.options import EtaDaysRead
from app.schemas.rates import RateList, RateRead, rate_list_json
from app.services.rates import PricedRate

AT = datetime(2026, 12, 2, 4, 30, 15, 123456, tzinfo=UTC)


def fastapi_answer(rates: list[PricedRate]) -> bytes:
    """What the route sent before: `RateList` validated, then FastAPI's `dump_json` of its
    response model (by alias)."""
    model = RateList(
        rates=[
            RateRead(
                option_id=rate.option_id,
                amount=str(rate.amount),
                currency=rate.currency,
                source=rate.source,
                logistic_name=rate.logistic_name,
                eta_days=EtaDaysRead(min=rate.eta_days[0], max=rate.eta_days[1]),
                expires_at=rate.expires_at,
            )
            for rate in rates
        ]
    )
    return TypeAdapter(RateList).dump_json(model, by_alias=True)


STATIC = PricedRate("us-standard", Decimal("7.95"), "USD", "static", "USPS+", (5, 7), AT)
CACHED = PricedRate(
    "ca-standard", Decimal("12.40"), "CAD", "cache", "CJPacket Ordinary", (7, 12), AT
)

CASES = {
    "static": [STATIC],
    "cache": [CACHED],
    "every option": [STATIC, CACHED],
    "live, whole seconds": [
        PricedRate("us-expedited", Decimal("15"), "EUR", "live", "USPS Priority", (3, 4),
                   AT.replace(microsecond=0))
    ],
    "stale, another offset": [
        PricedRate("eu", Decimal("0.01"), "GBP", "stale", "DHL", (1, 2),
                   AT.astimezone(timezone(timedelta(hours=2))))
    ],
    "free": [PricedRate("free", Decimal("0.00"), "USD", "static", "Free", (0, 0), AT)],
    "escapes and non-ASCII": [
        PricedRate("a", Decimal("1.5E+1"), "USD", "cache", 'Ü "q" \\ /\n\t\x01\u2028', (1, 2),
                   AT)
    ],
    "none": [],
}  # fmt: skip


@pytest.mark.parametrize("rates", CASES.values(), ids=CASES.keys())
def test_the_answer_is_what_fastapi_wrote_for_the_model(rates: list[PricedRate]) -> None:
    assert rate_list_json(rates) == fastapi_answer(rates)


def test_a_static_and_a_cached_answer_byte_for_byte() -> None:
    assert rate_list_json([STATIC, CACHED]) == (
        b'{"rates":[{"option_id":"us-standard","amount":"7.95","currency":"USD",'
        b'"source":"static","logistic_name":"USPS+","eta_days":{"min":5,"max":7},'
        b'"expires_at":"2026-12-02T04:30:15.123456Z"},{"option_id":"ca-standard",'
        b'"amount":"12.40","currency":"CAD","source":"cache",'
        b'"logistic_name":"CJPacket Ordinary","eta_days":{"min":7,"max":12},'
        b'"expires_at":"2026-12-02T04:30:15.123456Z"}]}'
    )
