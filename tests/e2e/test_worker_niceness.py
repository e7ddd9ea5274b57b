"""WORKER_NICENESS: the worker lowers its own CPU priority at start, before any loop runs,
so that on a host it shares with the web process CJ's webhook answers go first."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.fulfillments import WorkerProcess, worker_env


async def test_the_worker_runs_at_the_niceness_it_is_given(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    env = worker_env(service_env, WORKER_NICENESS="7", WORKER_METRICS_PORT="0")
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        await worker.wait_for_event("worker_started", timeout=60)
        assert os.getpriority(os.PRIO_PROCESS, worker.proc.pid) == min(ours + 7, 19)
    finally:
        assert worker.terminate() == 0


async def test_without_it_the_worker_keeps_its_priority(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    worker = WorkerProcess(worker_env(service_env, WORKER_METRICS_PORT="0"), tmp_path / "w.log")
    try:
        await worker.wait_for_event("worker_started", timeout=60)
        assert os.getpriority(os.PRIO_PROCESS, worker.proc.pid) == ours
    finally:
        assert worker.terminate() == 0
