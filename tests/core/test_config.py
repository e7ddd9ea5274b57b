from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Environment, PayType, Settings
from app.core.metrics import HTTP_LATENCY_BUCKETS

ROOT = Path(__file__).resolve().parents[2]


def build(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


class TestSettings:
    def test_defaults_are_the_embedded_first_run(self) -> None:
        settings = build()
        assert settings.uses_sqlite
        assert settings.redis_url == ""
        assert settings.cj_pay_type is PayType.create_only
        assert settings.max_body_bytes == 1024 * 1024

    def test_api_keys_are_comma_separated_secrets(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SERVICE_API_KEYS", "k-alpha, k-beta ,,k-gamma")
        settings = build()
        assert [k.get_secret_value() for k in settings.service_api_keys] == [
            "k-alpha",
            "k-beta",
            "k-gamma",
        ]
        assert "k-alpha" not in repr(settings)

    def test_development_needs_no_secrets(self) -> None:
        assert build(environment=Environment.development).service_api_keys == []


class TestSinkSettings:
    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"notify_url": "https://store.example/hooks"}, "NOTIFY_URL needs NOTIFY_SECRET"),
            ({"notify_secret": "whsec_not*base64"}, "whsec_ secret must be base64"),
            ({"medusa_url": "http://localhost:9000"}, "MEDUSA_URL needs MEDUSA_SECRET_KEY"),
            ({"medusa_secret_key": "pk_publishable"}, "must be a Medusa secret API key"),
        ],
    )
    def test_a_sink_without_a_usable_secret_is_refused(
        self, values: dict[str, str], message: str
    ) -> None:
        with pytest.raises(ValidationError, match=message) as raised:
            build(**values)
        assert "not*base64" not in str(raised.value)
        assert "pk_publishable" not in str(raised.value)

    def test_empty_secrets_mean_no_sink(self) -> None:
        settings = build(notify_url="", notify_secret="", medusa_url="", medusa_secret_key="")
        assert settings.notify_secret is None
        assert settings.medusa_secret_key is None


def test_medusas_provider_waits_longer_than_the_rate_budget() -> None:
    """The provider's own deadline for `POST /v1/rates` (rateTimeoutMs) must outlast the
    service's budget, or a checkout that waited for CJ is dropped just as it is answered;
    half a second is left for the answer to be built and travel."""
    options = ROOT / "integrations" / "medusa" / "src" / "providers" / "cj" / "options.ts"
    found = re.search(r"DEFAULT_RATE_TIMEOUT_MS = (\d+)", options.read_text())
    assert found is not None
    budget_ms = Settings.model_fields["rates_budget_ms"].default
    assert int(found.group(1)) - budget_ms >= 500
    assert f"RATES_BUDGET_MS={budget_ms}\n" in (ROOT / ".env.example").read_text()
    # The latency histogram tells an answer within the budget from one past it, and one
    # past the provider's deadline.
    assert budget_ms / 1000 in HTTP_LATENCY_BUCKETS
    assert int(found.group(1)) / 1000 in HTTP_LATENCY_BUCKETS
