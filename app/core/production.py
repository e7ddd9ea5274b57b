"""What `ENVIRONMENT=production` refuses: settings that are fine on a laptop and unsafe
for a store's real orders. Each refusal is one line that names the setting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr

from app.core.encryption import key_weakness, split_keys

if TYPE_CHECKING:
    from app.core.config import Settings

DEVELOPMENT_API_KEY = "dev-key-change-me"
MIN_API_KEY_CHARS = 32


def _api_key_refusals(setting: str, keys: list[SecretStr]) -> list[str]:
    refusals = []
    for position, key in enumerate(keys, start=1):
        value = key.get_secret_value()
        if value == DEVELOPMENT_API_KEY:
            refusals.append(f"{setting}: key {position} is the development key {value}")
        elif len(value) < MIN_API_KEY_CHARS:
            refusals.append(
                f"{setting}: key {position} is shorter than {MIN_API_KEY_CHARS} characters "
                '(make one with: python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
    return refusals


def _encryption_key_refusals(key: SecretStr | None) -> list[str]:
    if key is None or not split_keys(key):
        return ["TOKEN_ENCRYPTION_KEY is missing (it encrypts CJ tokens at rest)"]
    refusals = []
    for position, raw in enumerate(split_keys(key), start=1):
        weakness = key_weakness(raw)
        if weakness is not None:
            refusals.append(f"TOKEN_ENCRYPTION_KEY: key {position} is weak: {weakness}")
    return refusals


def production_refusals(settings: Settings) -> list[str]:
    """Every reason production mode refuses `settings`, one line each (empty: it starts)."""
    refusals = []
    if not settings.service_api_keys:
        refusals.append("SERVICE_API_KEYS is missing (the bearer keys of /v1)")
    refusals += _api_key_refusals("SERVICE_API_KEYS", settings.service_api_keys)
    refusals += _api_key_refusals("OPS_API_KEYS", settings.ops_api_keys)
    refusals += _encryption_key_refusals(settings.token_encryption_key)
    if settings.cj_webhook_verify.value == "off":
        refusals.append("CJ_WEBHOOK_VERIFY=off: CJ's webhook signatures must be checked")
    if not settings.cj_api_base_url.startswith("https://"):
        refusals.append("CJ_API_BASE_URL must be an https:// URL (CJ's API key travels on it)")
    if settings.cj_webhook_path_token is None:
        refusals.append(
            "CJ_WEBHOOK_PATH_TOKEN is missing (the secret path CJ's webhooks are sent to)"
        )
    return [f"production mode refuses to start: {line}" for line in refusals]
