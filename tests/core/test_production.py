"""Production mode refuses weak settings, one line naming each one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.core.config import Environment, Settings, get_settings
from tests.fixtures.app import uvicorns_app

STRONG_API_KEY = "k" * 16 + "0123456789abcdef"
STRONG_OPS_KEY = "o" * 16 + "0123456789abcdef"
FERNET_KEY = Fernet.generate_key().decode()
PASSPHRASE = "correct horse battery staple 2026 edition"


def production(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "environment": Environment.production,
        "service_api_keys": STRONG_API_KEY,
        "token_encryption_key": FERNET_KEY,
        "cj_api_base_url": "https://developers.cjdropshipping.com/api2.0/v1",
        "cj_webhook_verify": "enforce",
        "cj_webhook_path_token": "b2f1d0c7e6a54c3b9a8f7e6d5c4b3a29",
        "_env_file": None,
    }
    values.update(overrides)
    return values


def refusal_lines(**overrides: Any) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        Settings(**production(**overrides))
    message = str(raised.value.errors()[0]["msg"]).removeprefix("Value error, ")
    return message.splitlines()


def test_strong_settings_start() -> None:
    settings = Settings(**production(ops_api_keys=STRONG_OPS_KEY))
    assert settings.environment is Environment.production


def test_a_long_passphrase_is_a_strong_encryption_key() -> None:
    assert Settings(**production(token_encryption_key=PASSPHRASE)).token_encryption_key


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({"service_api_keys": ""}, "SERVICE_API_KEYS is missing"),
        (
            {"service_api_keys": f"{STRONG_API_KEY},dev-key-change-me"},
            "SERVICE_API_KEYS: key 2 is the development key dev-key-change-me",
        ),
        (
            {"service_api_keys": "short-but-not-the-dev-key"},
            "SERVICE_API_KEYS: key 1 is shorter than 32 characters",
        ),
        ({"ops_api_keys": "ops"}, "OPS_API_KEYS: key 1 is shorter than 32 characters"),
        ({"cj_webhook_verify": "off"}, "CJ_WEBHOOK_VERIFY=off"),
        ({"cj_api_base_url": "http://developers.cjdropshipping.com/api2.0/v1"}, "CJ_API_BASE_URL"),
        ({"cj_webhook_path_token": ""}, "CJ_WEBHOOK_PATH_TOKEN is missing"),
        ({"token_encryption_key": ""}, "TOKEN_ENCRYPTION_KEY is missing"),
        (
            {"token_encryption_key": "dev-only-encryption-key"},
            "TOKEN_ENCRYPTION_KEY: key 1 is weak: a passphrase needs at least 32 characters",
        ),
        (
            {"token_encryption_key": f"{FERNET_KEY},{'ab' * 20}"},
            "TOKEN_ENCRYPTION_KEY: key 2 is weak: a passphrase needs at least 10 different",
        ),
    ],
)
def test_production_refuses_each_weak_setting_with_its_line(
    overrides: dict[str, Any], line: str
) -> None:
    lines = refusal_lines(**overrides)
    assert len(lines) == 1
    assert lines[0].startswith(f"production mode refuses to start: {line}")


def test_a_refusal_never_prints_the_secret() -> None:
    lines = refusal_lines(service_api_keys="short-secret-value")
    assert "short-secret-value" not in "\n".join(lines)


def test_every_refusal_is_its_own_line() -> None:
    lines = refusal_lines(
        service_api_keys="dev-key-change-me", cj_webhook_verify="off", cj_webhook_path_token=""
    )
    assert [line.split(": ")[1].split(" ")[0] for line in lines] == [
        "SERVICE_API_KEYS",
        "CJ_WEBHOOK_VERIFY=off",
        "CJ_WEBHOOK_PATH_TOKEN",
    ]


def test_the_service_does_not_start_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """What uvicorn's import of `app.main:app` meets: an exit with one line per refusal."""
    env = {
        "ENVIRONMENT": "production",
        "SERVICE_API_KEYS": "dev-key-change-me",
        "TOKEN_ENCRYPTION_KEY": FERNET_KEY,
        "CJ_API_BASE_URL": "https://developers.cjdropshipping.com/api2.0/v1",
        "CJ_WEBHOOK_VERIFY": "enforce",
        "CJ_WEBHOOK_PATH_TOKEN": "b2f1d0c7e6a54c3b9a8f7e6d5c4b3a29",
    }
    with pytest.raises(SystemExit) as exited:
        uvicorns_app(monkeypatch, env)
    assert str(exited.value).splitlines() == [
        "configuration error:",
        "production mode refuses to start: SERVICE_API_KEYS: key 1 is the development key "
        "dev-key-change-me",
    ]


def test_check_prints_the_same_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    monkeypatch.chdir(Path(__file__).parent)
    for name, value in {
        "ENVIRONMENT": "production",
        "SERVICE_API_KEYS": STRONG_API_KEY,
        "TOKEN_ENCRYPTION_KEY": FERNET_KEY,
        "CJ_API_BASE_URL": "http://127.0.0.1:8700/api2.0/v1",
        "CJ_WEBHOOK_VERIFY": "off",
        "CJ_WEBHOOK_PATH_TOKEN": "",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert main(["check"]) == 1
    finally:
        get_settings.cache_clear()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "configuration error:"
    assert [line.split(": ")[1].split(" ")[0].split("=")[0] for line in lines[1:]] == [
        "CJ_WEBHOOK_VERIFY",
        "CJ_API_BASE_URL",
        "CJ_WEBHOOK_PATH_TOKEN",
    ]
