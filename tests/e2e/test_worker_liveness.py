"""The worker's liveness: its heartbeat in its own /metrics, read by
`python -m app.workers.liveness`, and by `cj-fulfillment status` through Redis."""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import start_http_server

from app.cli import main as cli
from app.core.config import get_settings
from app.core.metrics import REGISTRY, WORKER_HEARTBEAT
from app.workers import liveness
from tests.e2e.fulfillments import WorkerProcess, worker_env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def metrics_url() -> Iterator[str]:
    """This process's registry served as a worker serves it."""
    port = _free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=REGISTRY)
    yield f"http://127.0.0.1:{port}/metrics"
    server.shutdown()
    thread.join(5)


def test_a_fresh_heartbeat_is_alive(metrics_url: str) -> None:
    WORKER_HEARTBEAT.set(time.time())
    alive, line = liveness.check(metrics_url)
    assert alive, line
    assert liveness.main([metrics_url]) == 0


def test_a_stale_heartbeat_is_dead(metrics_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    WORKER_HEARTBEAT.set(time.time() - 120)
    assert liveness.main([metrics_url]) == 1
    assert "last heartbeat 120s ago" in capsys.readouterr().err


def test_no_worker_listening_is_dead() -> None:
    alive, line = liveness.check(f"http://127.0.0.1:{_free_port()}/metrics")
    assert not alive
    assert "unreachable" in line


def test_a_page_without_a_heartbeat_is_not_a_live_worker() -> None:
    assert liveness.heartbeat_age("# nothing\nup 1\n", time.time()) is None
    page = "worker_heartbeat_timestamp_seconds 1000.0\n"
    assert liveness.heartbeat_age(page, 1004.5) == pytest.approx(4.5)


async def test_a_running_worker_is_alive_and_a_stopped_one_is_not(
    service_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    env = worker_env(service_env, WORKER_METRICS_PORT=str(port))
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        await worker.wait_for_event("worker_started", timeout=60)
        deadline = time.monotonic() + 30
        while not (await asyncio.to_thread(liveness.check, url))[0]:
            assert time.monotonic() < deadline, "the worker's heartbeat never showed"
            await asyncio.sleep(0.2)
        page = await asyncio.to_thread(_read, url)
        assert "fulfillments_by_status" in page  # the ops loop published its gauges

        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        await asyncio.to_thread(cli, ["status"])
        out = capsys.readouterr().out
        assert f"worker:        1 alive: {socket.gethostname()}:{worker.proc.pid}" in out
    finally:
        assert worker.terminate() == 0
        get_settings.cache_clear()
    alive, _line = liveness.check(url)
    assert not alive


def _read(url: str) -> str:
    with urllib.request.urlopen(url, timeout=3) as response:
        return str(response.read().decode())
