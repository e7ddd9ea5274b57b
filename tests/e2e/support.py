"""Real processes for the end-to-end tests: a cjsim server and CJ-client workers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
API_PREFIX = "/api2.0/v1"
# What the service processes of the end-to-end tests encrypt stored CJ tokens with.
TOKEN_ENCRYPTION_KEY = "e2e-encryption-passphrase"


# A process's start on a shared 2-core machine under load (imports alone took 20 s).
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def new_api_key() -> str:
    """A fresh cjsim account (and an empty token-store row) for each test."""
    return f"CJ{uuid.uuid4().int % 10**9}@api@e2e{uuid.uuid4().hex}"


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class SimServer:
    """`python -m cjsim` on a free port of 127.0.0.1; its state in memory, or in
    `state_file` (CJSIM_STATE) to outlive a restart (`restart`)."""

    def __init__(self, log_path: Path, *, state_file: Path | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.base_url}{API_PREFIX}"
        self._log: IO[bytes] = log_path.open("ab")
        self._env = {
            **os.environ,
            "CJSIM_HOST": "127.0.0.1",
            "CJSIM_PORT": str(self.port),
            "CJSIM_QPS": "1",
            "CJSIM_LATENCY_MS": "0",
            "CJSIM_JITTER_MS": "0",
            "CJSIM_LOG_LEVEL": "warning",
            "CJSIM_STATE": str(state_file) if state_file else "",
        }
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "cjsim"],
            cwd=ROOT,
            env=self._env,
            stdout=self._log,
            stderr=self._log,
        )

    def restart(self, *, kill: bool = False) -> None:
        """Stop the process (SIGTERM, or SIGKILL as a crash would) and start a new one on
        the same port."""
        if kill:
            self.proc.kill()
            self.proc.wait()
        else:
            stop(self.proc)
        self.proc = self._start()
        self.wait_until_up()

    def wait_until_up(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=1) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"cjsim exited early with {self.proc.returncode}")
                try:
                    if client.get("/_sim/stats").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError("cjsim did not start")

    def stop(self) -> None:
        stop(self.proc)
        self._log.close()


class Workers:
    """Worker processes (tests/e2e/worker.py), each with its own CJ client; all are stopped
    by `stop_all` (the fixture's teardown) whatever happened."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def run(
        self,
        *,
        processes: int,
        mode: str,
        count: int,
        env: dict[str, str],
        deadline_seconds: float = 20,
        timeout: float = 120,
    ) -> list[dict[str, Any]]:
        """Start `processes` workers, release them together, return their reports."""
        batch = uuid.uuid4().hex[:8]
        results = [self._directory / f"worker-{batch}-{n}.json" for n in range(processes)]
        procs = []
        for n, result in enumerate(results):
            log = (self._directory / f"worker-{batch}-{n}.log").open("wb")
            self._logs.append(log)
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.e2e.worker",
                    mode,
                    str(count),
                    str(result),
                    str(deadline_seconds),
                ],
                cwd=ROOT,
                env={**os.environ, **env},
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self._procs.append(proc)
            procs.append(proc)

        ready_by = time.monotonic() + START_TIMEOUT
        while not all(Path(f"{result}.ready").exists() for result in results):
            for proc, result in zip(procs, results, strict=True):
                if proc.poll() is not None:
                    raise AssertionError(f"worker exited early:\n{self._log_text(result)}")
            if time.monotonic() > ready_by:
                raise AssertionError(f"workers did not get ready in {START_TIMEOUT:g} s")
            time.sleep(0.02)
        for proc in procs:  # the start signal, as close together as possible
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.close()

        finish_by = time.monotonic() + timeout
        for proc, result in zip(procs, results, strict=True):
            try:
                code = proc.wait(timeout=max(finish_by - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"worker did not finish in {timeout} s") from None
            assert code == 0, f"worker failed ({code}):\n{self._log_text(result)}"
        return [json.loads(result.read_text()) for result in results]

    @staticmethod
    def _log_text(result: Path) -> str:
        log = result.with_suffix(".log")
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""

    def stop_all(self) -> None:
        for proc in self._procs:
            stop(proc)
        for log in self._logs:
            log.close()


class ServiceProcess:
    """`uvicorn app.main:app` on a free port (or `port`, where a stopped one ran), with
    `env` as its settings."""

    def __init__(self, env: dict[str, str], log_path: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log: IO[bytes] = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log"],
            cwd=ROOT, env={**os.environ, **env}, stdout=self._log, stderr=self._log,
        )  # fmt: skip

    def wait_until_up(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=1) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the service exited early with {self.proc.returncode}")
                try:
                    if client.get("/health/live").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError("the service did not start")

    def stop(self) -> None:
        stop(self.proc)
        self._log.close()
