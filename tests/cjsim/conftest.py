"""Fixtures for the simulator tests: an in-process app, a logged-in client, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from cjsim.app import create_app
from cjsim.state import SimConfig, SimState
from tests.cjsim.support import CJ, FakeClock, login


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim_state(clock: FakeClock) -> SimState:
    # Explicit defaults: the tests must not depend on CJSIM_* variables of the environment.
    return SimState(defaults=SimConfig(), clock=clock)


@pytest.fixture
async def sim_client(sim_state: SimState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sim_state))
    async with httpx.AsyncClient(transport=transport, base_url="http://cjsim") as client:
        yield client


@pytest.fixture
async def cj(sim_client: httpx.AsyncClient) -> CJ:
    """Logged in, with a high QPS limit so only the QPS tests meet 1600200."""
    response = await sim_client.post("/_sim/config", json={"qps": 1000})
    assert response.status_code == 200
    return CJ(sim_client, await login(sim_client))
