"""What the CJ client tells ops: the day's points left (CJ's `pointsInfo`) and how token
renewals go (`cj_token_refreshes_total`)."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.cj.client import CJClient
from app.cj.envelope import PointsInfo, points_info
from app.cj.errors import CJPointsExhausted
from app.cj.models import FreightProduct, FreightRequest
from app.core.metrics import REGISTRY
from tests.cj.conftest import REFRESHED, fail, ok, token_data

FREIGHT = FreightRequest(
    start_country_code="CN",
    end_country_code="US",
    zip="10001",
    products=[FreightProduct(vid="vid-1", quantity=1)],
)
# CJ's points page: the 429 answer once the day's points are gone.
OUT_OF_POINTS = {
    "code": 429,
    "result": False,
    "message": "Insufficient API points. Used today: 50000, Remaining: 0, Required: 10",
    "pointsInfo": {"total": 50000, "usedToday": 50000, "remaining": 0},
}


def _renewals(kind: str, outcome: str) -> float:
    labels = {"kind": kind, "outcome": outcome}
    return REGISTRY.get_sample_value("cj_token_refreshes_total", labels) or 0.0


def test_points_info_is_read_from_cj_s_429_sample() -> None:
    response = httpx.Response(429, json=OUT_OF_POINTS)
    assert points_info(response) == PointsInfo(total=50000, remaining=0)


@pytest.mark.parametrize(
    "body",
    [
        {"code": 200, "result": True, "data": []},
        {"code": 200, "pointsInfo": "50000"},
        {"code": 200, "pointsInfo": {"total": "50000", "remaining": 10}},
        {"code": 200, "pointsInfo": {"total": 50000, "remaining": -1}},
        {"code": 200, "pointsInfo": {"total": True, "remaining": 1}},
    ],
)
def test_absent_or_odd_points_info_is_ignored(body: dict[str, object]) -> None:
    assert points_info(httpx.Response(200, json=body)) is None


async def test_an_answer_with_points_info_sets_the_gauges(
    client: CJClient, cj_api: respx.MockRouter
) -> None:
    cj_api.post("/logistic/freightCalculate").respond(
        json={**ok([]), "pointsInfo": {"total": 60000, "usedToday": 1000, "remaining": 59000}}
    )
    await client.freight_calculate(FREIGHT)
    assert REGISTRY.get_sample_value("cj_points_remaining") == 59000
    assert REGISTRY.get_sample_value("cj_points_total") == 60000
    assert await client.transport.points.last_info() == PointsInfo(total=60000, remaining=59000)


async def test_points_gone_raise_the_exhausted_gauge(
    client: CJClient, cj_api: respx.MockRouter
) -> None:
    cj_api.post("/logistic/freightCalculate").respond(429, json=OUT_OF_POINTS)
    with pytest.raises(CJPointsExhausted):
        await client.freight_calculate(FREIGHT)
    assert REGISTRY.get_sample_value("cj_points_exhausted") == 1
    assert REGISTRY.get_sample_value("cj_points_remaining") == 0


async def test_renewals_are_counted_by_outcome(client: CJClient, cj_api: respx.MockRouter) -> None:
    obtained = _renewals("obtain", "ok")
    refreshed = _renewals("refresh", "ok")
    cj_api.post("/authentication/refreshAccessToken").respond(json=ok(token_data(REFRESHED)))
    cj_api.get("/setting/get").mock(
        side_effect=lambda request: respx.MockResponse(
            json=ok({})
            if request.headers["CJ-Access-Token"] == REFRESHED
            else fail(1600001, "Invalid token")
        )
    )
    await client.get_account_settings()
    assert _renewals("obtain", "ok") == obtained + 1
    assert _renewals("refresh", "ok") == refreshed + 1


async def test_a_refused_refresh_is_counted(client: CJClient, cj_api: respx.MockRouter) -> None:
    refused = _renewals("refresh", "refused")
    cj_api.post("/authentication/refreshAccessToken").respond(json=fail(1600003, "expired"))
    cj_api.get("/setting/get").respond(json=fail(1600001, "Invalid token"))
    with pytest.raises(Exception, match="5 minutes"):
        await client.get_account_settings()
    assert _renewals("refresh", "refused") == refused + 1
