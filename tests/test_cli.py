from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli import main
from app.core.config import get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> None:
    get_settings.cache_clear()


def test_check_reports_the_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "us-standard, us-expedited, ca-standard" in out


def test_check_fails_on_a_broken_options_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "options.yaml"
    broken.write_text("options: []\n", encoding="utf-8")
    monkeypatch.setenv("OPTIONS_FILE", str(broken))
    assert main(["check"]) == 1
    assert str(broken) in capsys.readouterr().err


@pytest.fixture
def cjsim_url() -> Iterator[str]:
    """A real simulator process on a free local port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CJSIM_PORT": str(port), "CJSIM_QPS": "5"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cjsim"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/_sim/stats").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def cj_env(
    cjsim_url: str, clean_db: AsyncEngine, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("CJ_API_BASE_URL", f"{cjsim_url}/api2.0/v1")
    monkeypatch.setenv("CJ_API_KEY", "CJ7000001@api@cli-test")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "cli-test-key")
    return cjsim_url


class TestCJToken:
    def test_missing_then_refreshed_never_printing_the_token(
        self, cj_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["cj", "token"]) == 1
        assert "status:          missing" in capsys.readouterr().out

        assert main(["cj", "token", "--refresh"]) == 0
        out = capsys.readouterr().out
        assert "status:          valid" in out
        assert "openId:          known" in out

        assert main(["cj", "token"]) == 0
        shown = capsys.readouterr().out
        assert "status:          valid" in shown
        stats = httpx.get(f"{cj_env}/_sim/stats").json()
        assert stats["calls"]["getAccessToken"] == 1
        # cjsim's tokens are 32 hex digits; the only such string printed is the account id.
        account = re.search(r"account:\s+(\w+)", shown)
        assert account is not None
        assert set(re.findall(r"\b[0-9a-f]{32}\b", out + shown)) == {account.group(1)}


class TestCJPing:
    def test_reports_the_accounts_qps(
        self, cj_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["cj", "ping"]) == 0
        out = capsys.readouterr().out
        assert "credentials accepted" in out
        assert "qps limit:   5" in out

    def test_fails_when_cj_qps_is_above_the_accounts_limit(
        self, cj_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("CJ_QPS", "8")
        assert main(["cj", "ping"]) == 1
        assert "above the account's limit of 5" in capsys.readouterr().err

    def test_wrong_api_key_is_a_clear_error(
        self, cj_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("CJ_API_KEY", "not-a-cj-key")
        assert main(["cj", "ping"]) == 1
        assert "CJ error" in capsys.readouterr().err
