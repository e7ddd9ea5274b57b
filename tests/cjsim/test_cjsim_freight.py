"""freightCalculate: deterministic quotes, CJ's quirks, errors, points and the QPS limit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from cjsim import catalog
from tests.cjsim.support import API, CJ, CN_CASE, US_BLANKET, US_TEE, FakeClock, login

FREIGHT = "/logistic/freightCalculate"


def freight_body(
    start: str = "US", end: str = "US", zip_code: str | None = "10001", **kw: Any
) -> dict[str, Any]:
    assert US_TEE is not None
    body: dict[str, Any] = {
        "startCountryCode": start,
        "endCountryCode": end,
        "products": kw.get("products", [{"vid": US_TEE.vid, "quantity": 2}]),
    }
    if zip_code is not None:
        body["zip"] = zip_code
    return body


def by_name(data: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["logisticName"]: item for item in data}


async def test_catalog_is_seeded_and_deterministic(sim_client: httpx.AsyncClient) -> None:
    variants = (await sim_client.get("/_sim/catalog")).json()["variants"]
    assert 30 <= len(variants) <= 40
    assert {v["from_country"] for v in variants} == {"US", "CN"}
    assert len({v["vid"] for v in variants}) == len(variants)
    assert {"vid", "sku", "from_country", "weight_g"} <= set(variants[0])
    assert any(v["sku"] == "CJ-TSHIRT-RED-M" for v in variants)
    again = (await sim_client.get("/_sim/catalog")).json()["variants"]
    assert again == variants


async def test_us_domestic_quote(cj: CJ) -> None:
    first = await cj.post(FREIGHT, freight_body())
    second = await cj.post(FREIGHT, freight_body())
    assert first["code"] == 200
    assert first["data"] == second["data"]
    quotes = by_name(first["data"])
    assert list(quotes) == ["USPS+", "USPS Priority", "UPS Ground", "CJPacket US Standard"]
    assert {q["logisticAging"] for q in quotes.values()} == {"5-7", "3-4", "3-5", "6-8"}
    for quote in quotes.values():
        price = quote["logisticPrice"]
        assert isinstance(price, float)
        assert price > 0
        assert round(price, 2) == price
        assert isinstance(quote["logisticPriceCn"], float)
    # Quirks: a 0 total next to a positive price; null and missing fee fields.
    assert quotes["USPS Priority"]["totalPostageFee"] == 0
    assert quotes["USPS+"]["taxesFee"] is None
    assert "taxesFee" not in quotes["CJPacket US Standard"]


async def test_cn_routes_and_fees(cj: CJ) -> None:
    assert CN_CASE is not None
    products = [{"vid": CN_CASE.vid, "quantity": 3}]
    names = ["CJPacket Ordinary", "CJPacket Sensitive", "YunExpress Standard", "DHL Express"]
    for dest in ("US", "CA", "GB", "DE", "FR", "AU", "MX"):
        body = await cj.post(FREIGHT, freight_body("CN", dest, None, products=products))
        assert [q["logisticName"] for q in body["data"]] == names, dest
    cn_us = await cj.post(FREIGHT, freight_body("CN", "US", None, products=products))
    dhl = by_name(cn_us["data"])
    fee = dhl["DHL Express"]
    expected = Decimal(str(fee["logisticPrice"])) + Decimal(str(fee["taxesFee"]))
    expected += Decimal(str(fee["clearanceOperationFee"]))
    assert Decimal(str(fee["totalPostageFee"])) == expected
    assert dhl["CJPacket Sensitive"]["totalPostageFee"] == 0
    assert dhl["CJPacket Sensitive"]["logisticPrice"] > 0


async def test_us_to_canada_and_unserved_routes(cj: CJ) -> None:
    canada = await cj.post(FREIGHT, freight_body("US", "CA", "M5V 2T6"))
    names = [q["logisticName"] for q in canada["data"]]
    assert names == ["USPS International", "CJPacket Ordinary"]
    assert by_name(canada["data"])["USPS International"]["logisticAging"] == "7-12"
    unserved = await cj.post(FREIGHT, freight_body("US", "GB"))
    assert unserved["code"] == 200
    assert unserved["data"] == []


async def test_weight_limit_removes_a_logistic(cj: CJ) -> None:
    assert US_BLANKET is not None
    heavy = await cj.post(FREIGHT, freight_body(products=[{"vid": US_BLANKET.vid, "quantity": 1}]))
    names = [q["logisticName"] for q in heavy["data"]]
    assert "USPS+" not in names
    assert names[0] == "USPS Priority"


async def test_remote_zip_surcharge(cj: CJ) -> None:
    city = by_name((await cj.post(FREIGHT, freight_body(zip_code="10001")))["data"])
    alaska = by_name((await cj.post(FREIGHT, freight_body(zip_code="99501")))["data"])
    for name, quote in city.items():
        delta = Decimal(str(alaska[name]["logisticPrice"])) - Decimal(str(quote["logisticPrice"]))
        assert delta == catalog.REMOTE_ZIP_SURCHARGE


async def test_freight_errors(cj: CJ) -> None:
    unknown_vid = await cj.post(FREIGHT, freight_body(products=[{"vid": "NOPE", "quantity": 1}]))
    assert unknown_vid["code"] == 1602000
    assert unknown_vid["result"] is False
    assert unknown_vid["data"] is None
    assert (await cj.post(FREIGHT, freight_body(end="XX")))["code"] == 1605002
    assert (await cj.post(FREIGHT, freight_body(start="ZZ")))["code"] == 1605002
    empty = await cj.post(FREIGHT, freight_body(products=[]))
    assert empty["code"] == 16900403
    assert empty["message"] == "products can not be empty"


async def test_points_budget_answers_429(cj: CJ) -> None:
    await cj.client.post("/_sim/config", json={"points_per_day": 25})
    for _ in range(2):
        assert (await cj.post(FREIGHT, freight_body()))["code"] == 200
    response = await cj.client.post(f"{API}{FREIGHT}", json=freight_body(), headers=cj.headers)
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == 429
    assert body["result"] is False
    assert body["message"] == (
        "Insufficient API points. Used today: 20, Remaining: 5, Required: 10"
    )
    assert body["pointsInfo"] == {"total": 25, "usedToday": 20, "remaining": 5}
    # Calls that cost nothing still work; the stats count the points spent.
    assert (await cj.get("/shopping/pay/getBalance"))["code"] == 200
    stats = (await cj.client.get("/_sim/stats")).json()
    assert stats["points_used"] == 20
    assert stats["calls"]["freightCalculate"] == 3


async def test_qps_limit(cj: CJ, clock: FakeClock) -> None:
    await cj.client.post("/_sim/config", json={"qps": 2})
    clock.advance(301)  # also clears the 5-minute token rule for the login below
    assert (await cj.post(FREIGHT, freight_body()))["code"] == 200
    assert (await cj.get("/shopping/pay/getBalance"))["code"] == 200
    limited = await cj.post(FREIGHT, freight_body())
    assert limited["code"] == 1600200
    assert limited["message"] == "Too Many Requests, QPS limit is 1 time/1second"
    assert "result" not in limited
    assert "requestId" in limited
    stats = (await cj.client.get("/_sim/stats")).json()
    assert stats["qps_violations"] == 1
    assert stats["calls"]["freightCalculate"] == 2
    assert stats["points_used"] == 10  # the rejected call did no work
    # Token calls are outside the QPS count, even with a full window.
    assert (await login(cj.client))["openId"] == cj.open_id
    clock.advance(0.5)
    assert (await cj.get("/shopping/pay/getBalance"))["code"] == 1600200
    clock.advance(0.6)
    assert (await cj.post(FREIGHT, freight_body()))["code"] == 200
    assert (await cj.client.get("/_sim/stats")).json()["qps_violations"] == 2
