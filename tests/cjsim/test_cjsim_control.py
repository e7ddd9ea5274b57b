"""The control API: faults of each kind, modes, latency, config, stats and reset."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from cjsim import gate
from tests.cjsim.support import API, CJ, order_body

CREATE = f"{API}/shopping/order/createOrderV2"


async def add_fault(client: httpx.AsyncClient, **fault: object) -> dict[str, object]:
    response = await client.post("/_sim/faults", json=fault)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


async def order_count(client: httpx.AsyncClient) -> int:
    count: int = (await client.get("/_sim/stats")).json()["orders"]
    return count


async def test_http_500_fault_does_no_work(cj: CJ) -> None:
    await add_fault(cj.client, endpoint="createOrderV2", kind="http_500", count=2)
    for _ in range(2):
        response = await cj.client.post(CREATE, json=order_body(), headers=cj.headers)
        assert response.status_code == 500
    assert await order_count(cj.client) == 0
    assert (await cj.create())["code"] == 200


async def test_code_fault_with_full_path(cj: CJ) -> None:
    await add_fault(
        cj.client, endpoint="/api2.0/v1/shopping/order/createOrderV2", kind="code", code=1600000
    )
    body = await cj.create()
    assert body["code"] == 1600000
    assert body["result"] is False
    assert body["data"] is None
    assert await order_count(cj.client) == 0
    assert (await cj.create())["code"] == 200


async def test_code_fault_can_mimic_the_rate_limiter(cj: CJ) -> None:
    await add_fault(cj.client, endpoint="getOrderDetail", kind="code", code=1600200)
    body = await cj.detail("x")
    assert body["code"] == 1600200
    assert "result" not in body


async def test_reset_fault_raises_a_transport_error(cj: CJ) -> None:
    await add_fault(cj.client, endpoint="createOrderV2", kind="reset")
    with pytest.raises(httpx.TransportError):
        await cj.client.post(CREATE, json=order_body(), headers=cj.headers)
    assert await order_count(cj.client) == 0
    assert (await cj.create())["code"] == 200


async def test_timeout_after_commit_stores_then_hangs(cj: CJ) -> None:
    await cj.client.post("/_sim/config", json={"hang_ms": 300})
    await add_fault(cj.client, endpoint="createOrderV2", kind="timeout_after_commit")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(cj.create(), timeout=0.1)
    # The order exists although the caller never got an answer.
    assert await order_count(cj.client) == 1
    assert (await cj.detail("ful_0001"))["data"]["orderStatus"] == "CREATED"
    assert (await cj.create())["code"] == 1603003
    # Let a second one run to the end: the answer arrives after hang_ms.
    await add_fault(cj.client, endpoint="createOrderV2", kind="timeout_after_commit")
    started = time.perf_counter()
    body = await cj.create(orderNumber="ful_0002")
    assert time.perf_counter() - started >= 0.3
    assert body["code"] == 200


async def test_faults_are_listed_and_cleared(cj: CJ) -> None:
    listed = await add_fault(cj.client, endpoint="freightCalculate", kind="http_500", count=3)
    assert listed == {"freightCalculate": [{"kind": "http_500", "remaining": 3, "code": None}]}
    assert (await cj.client.delete("/_sim/faults")).status_code == 200
    assert (await cj.client.get("/_sim/faults")).json() == {}
    bad = await cj.client.post("/_sim/faults", json={"endpoint": "x", "kind": "code"})
    assert bad.status_code == 422


async def test_mode_down_answers_503_html(cj: CJ) -> None:
    await cj.client.post("/_sim/config", json={"mode": "down"})
    response = await cj.client.post(CREATE, json=order_body(), headers=cj.headers)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert await order_count(cj.client) == 0
    await cj.client.post("/_sim/config", json={"mode": "up"})
    assert (await cj.create())["code"] == 200


async def test_latency_and_slow_mode(cj: CJ, monkeypatch: pytest.MonkeyPatch) -> None:
    await cj.client.post("/_sim/config", json={"latency_ms": 120, "jitter_ms": 20})
    started = time.perf_counter()
    await cj.get("/shopping/pay/getBalance")
    assert time.perf_counter() - started >= 0.1
    # /_sim/* is never delayed.
    started = time.perf_counter()
    await cj.client.get("/_sim/stats")
    assert time.perf_counter() - started < 0.1
    monkeypatch.setattr(gate, "SLOW_EXTRA_MS", 200)
    await cj.client.post("/_sim/config", json={"latency_ms": 0, "jitter_ms": 0, "mode": "slow"})
    started = time.perf_counter()
    await cj.get("/shopping/pay/getBalance")
    assert time.perf_counter() - started >= 0.2


async def test_config_merges_and_validates(sim_client: httpx.AsyncClient) -> None:
    full = (await sim_client.post("/_sim/config", json={"qps": 3})).json()
    assert full == {
        "qps": 3,
        "latency_ms": 0,
        "jitter_ms": 0,
        "mode": "up",
        "points_per_day": 50000,
        "sign_webhooks": True,
        "balance": 10000.0,
        "token_ttl_seconds": 15 * 86400,
        "hang_ms": 30000,
    }
    merged = (await sim_client.post("/_sim/config", json={"latency_ms": 5})).json()
    assert merged["qps"] == 3
    assert merged["latency_ms"] == 5
    assert (await sim_client.post("/_sim/config", json={"mode": "sideways"})).status_code == 422
    assert (await sim_client.post("/_sim/config", json={"nope": 1})).status_code == 422


async def test_unknown_path_and_wrong_method(cj: CJ) -> None:
    assert (await cj.get("/shopping/order/doesNotExist"))["code"] == 1600101
    wrong = await cj.post("/shopping/order/confirmOrder", {"orderId": "1"})
    assert wrong["code"] == 16900202


async def test_stats_and_reset(cj: CJ) -> None:
    await cj.create_ok()
    await cj.post("/logistic/freightCalculate", {
        "startCountryCode": "US", "endCountryCode": "US",
        "products": [{"vid": order_body()["products"][0]["vid"], "quantity": 1}],
    })  # fmt: skip
    await cj.client.post("/_sim/config", json={"latency_ms": 1, "balance": 7})
    await add_fault(cj.client, endpoint="getOrderDetail", kind="http_500")
    stats = (await cj.client.get("/_sim/stats")).json()
    assert stats["calls"] == {"getAccessToken": 1, "createOrderV2": 1, "freightCalculate": 1}
    assert stats["orders"] == 1
    assert stats["orders_by_number"] == {"ful_0001": 1}
    assert stats["points_used"] == 10
    assert stats["qps_violations"] == 0
    assert stats["webhooks_sent"] == 0

    assert (await cj.client.post("/_sim/reset")).status_code == 200
    stats = (await cj.client.get("/_sim/stats")).json()
    assert stats == {
        "calls": {},
        "orders": 0,
        "orders_by_number": {},
        "qps_violations": 0,
        "points_used": 0,
        "webhooks_sent": 0,
    }
    config = (await cj.client.get("/_sim/config")).json()
    assert config["qps"] == 1
    assert config["latency_ms"] == 0
    assert config["balance"] == 10000.0
    assert (await cj.client.get("/_sim/faults")).json() == {}
    assert (await cj.get("/shopping/pay/getBalance"))["code"] == 1600001  # tokens are gone
    # The 5-minute rule is reset too.
    relogin = await cj.client.post(
        f"{API}/authentication/getAccessToken", json={"apiKey": "CJ1234567@api@0123456789abcdef"}
    )
    assert relogin.json()["code"] == 200


def test_initial_config_from_environment() -> None:
    from cjsim.state import SimConfig

    cfg = SimConfig.from_env(
        {
            "CJSIM_QPS": "6",
            "CJSIM_LATENCY_MS": "40",
            "CJSIM_JITTER_MS": "10",
            "CJSIM_POINTS_PER_DAY": "900",
        }
    )
    assert (cfg.qps, cfg.latency_ms, cfg.jitter_ms, cfg.points_per_day) == (6, 40, 10, 900)
    assert SimConfig.from_env({}) == SimConfig()
