from __future__ import annotations

from pathlib import Path

import pytest

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
