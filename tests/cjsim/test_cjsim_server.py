"""`python -m cjsim` as a real process: faults seen through a real socket, and reset."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cjsim.support import API, API_KEY, order_body

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_until_up(base_url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    async with httpx.AsyncClient(base_url=base_url, timeout=1) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "cjsim exited early"
            try:
                if (await client.get("/_sim/stats")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    pytest.fail("cjsim did not start")


async def test_real_server_faults_and_reset(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CJSIM_PORT": str(port),
        "CJSIM_QPS": "1000",
        "CJSIM_LOG_LEVEL": "error",
        "CJSIM_STATE": str(tmp_path / "state.json"),
    }
    log = (tmp_path / "cjsim.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cjsim"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        await wait_until_up(base_url, proc)
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
            # The environment preconfigured the limits.
            assert (await client.get("/_sim/config")).json()["qps"] == 1000
            login = await client.post(
                f"{API}/authentication/getAccessToken", json={"apiKey": API_KEY}
            )
            headers = {"CJ-Access-Token": login.json()["data"]["accessToken"]}
            create = f"{API}/shopping/order/createOrderV2"

            # timeout_after_commit: the client times out, yet the order was stored.
            await client.post("/_sim/config", json={"hang_ms": 1500})
            await client.post(
                "/_sim/faults", json={"endpoint": "createOrderV2", "kind": "timeout_after_commit"}
            )
            with pytest.raises(httpx.ReadTimeout):
                await client.post(create, json=order_body(), headers=headers, timeout=0.4)
            detail = await client.get(
                f"{API}/shopping/order/getOrderDetail",
                params={"orderId": "ful_0001"},
                headers=headers,
            )
            assert detail.json()["data"]["orderStatus"] == "CREATED"
            again = await client.post(create, json=order_body(), headers=headers)
            assert again.json()["code"] == 1603003

            # reset: the connection drops mid-answer, a transport-level error for the client.
            await client.post("/_sim/faults", json={"endpoint": "getOrderDetail", "kind": "reset"})
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(
                    f"{API}/shopping/order/getOrderDetail",
                    params={"orderId": "ful_0001"},
                    headers=headers,
                )
            stats = (await client.get("/_sim/stats")).json()
            assert stats["orders"] == 1
            assert stats["orders_by_number"] == {"ful_0001": 1}

            # /_sim/reset wipes orders, tokens and stats.
            assert (await client.post("/_sim/reset")).json() == {"reset": True}
            stats = (await client.get("/_sim/stats")).json()
            assert stats["orders"] == 0
            assert stats["calls"] == {}
            gone = await client.get(f"{API}/shopping/pay/getBalance", headers=headers)
            assert gone.json()["code"] == 1600001
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
