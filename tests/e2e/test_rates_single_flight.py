"""Single flight across processes: identical rate requests sent at once to two service
processes cost one CJ freight call between them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cjsim import catalog
from tests.e2e.support import ServiceProcess

API_KEY = "e2e-service-key"
TEE = catalog.variant_by_sku("CJ-TSHIRT-BLACK-L")


@pytest.fixture
def services(service_env: dict[str, str], tmp_path: Path) -> Iterator[list[ServiceProcess]]:
    env = {**service_env, "SERVICE_API_KEYS": API_KEY, "RATES_BUDGET_MS": "5000"}
    started = [ServiceProcess(env, tmp_path / f"service-{n}.log") for n in range(2)]
    try:
        for service in started:
            service.wait_until_up()
        yield started
    finally:
        for service in started:
            service.stop()


async def test_100_identical_requests_over_two_processes_make_one_cj_call(
    sim: httpx.AsyncClient, services: list[ServiceProcess]
) -> None:
    assert TEE is not None
    headers = {"Authorization": f"Bearer {API_KEY}"}
    body = {
        "option_id": "us-standard",
        "destination": {"country_code": "US", "zip": "94105"},
        "items": [{"vid": TEE.vid, "quantity": 1}],
        "currency": "usd",
    }
    async with httpx.AsyncClient(timeout=20) as client:
        # Each process buys or loads the CJ token first, with another cart.
        for service in services:
            warm = {**body, "items": [{"vid": TEE.vid, "quantity": 5}]}
            response = await client.post(f"{service.base_url}/v1/rates", json=warm, headers=headers)
            assert response.status_code == 200, response.text
        calls_before = (await sim.get("/_sim/stats")).json()["calls"]["freightCalculate"]
        await sim.post("/_sim/config", json={"latency_ms": 600})

        responses = await asyncio.gather(
            *(
                client.post(f"{services[n % 2].base_url}/v1/rates", json=body, headers=headers)
                for n in range(100)
            )
        )
    assert {r.status_code for r in responses} == {200}
    rates = [r.json()["rates"][0] for r in responses]
    # Each joined the one flight (live) or, reaching its process after the answer, read
    # what it stored (cache): never a second CJ call, never a fallback.
    sources = {rate["source"] for rate in rates}
    assert "live" in sources
    assert sources <= {"live", "cache"}
    assert len({rate["amount"] for rate in rates}) == 1
    stats = (await sim.get("/_sim/stats")).json()
    assert stats["calls"]["freightCalculate"] == calls_before + 1
    assert stats["qps_violations"] == 0
