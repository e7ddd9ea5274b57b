"""Service settings, read from the environment (and `.env` when present).

The names are the ones in DESIGN "Running it": the README, tests, benchmarks and the
store's provider rely on them, so they are flat (no prefix, no nesting).
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.core.chat_targets import parse_target
from app.core.production import production_refusals
from app.core.security import webhook_signing_key

PATH_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
DEFAULT_OPTIONS_FILE = Path(__file__).resolve().parent.parent / "options.default.yaml"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class LogFormat(StrEnum):
    json = "json"
    console = "console"


class PayType(StrEnum):
    """How a CJ order is paid once created (createOrderV2 `payType`)."""

    create_only = "create_only"
    balance = "balance"


class WebhookVerify(StrEnum):
    enforce = "enforce"
    log = "log"
    off = "off"


class CancelAfterPayment(StrEnum):
    refuse = "refuse"
    dispute = "dispute"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # A validation error must not print the secrets it was given.
        hide_input_in_errors=True,
    )

    environment: Environment = Environment.development
    port: int = 8000
    log_format: LogFormat = LogFormat.console
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="a body that takes longer to arrive is answered 408"
    )

    database_url: str = "sqlite+aiosqlite:///./cj_fulfillment.db"
    database_pool_size: int = 10
    database_ping_idle_seconds: float = Field(
        default=10.0,
        gt=0,
        description="a pooled Postgres connection idle this long is checked before use",
    )
    redis_url: str = ""

    service_api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    ops_api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    token_encryption_key: SecretStr | None = None

    cj_api_base_url: str = "http://127.0.0.1:8700/api2.0/v1"
    cj_api_key: SecretStr | None = None
    cj_qps: Decimal = Field(default=Decimal(1), gt=0)
    cj_pay_type: PayType = PayType.create_only
    cj_sandbox: bool = False
    cj_webhook_verify: WebhookVerify = WebhookVerify.enforce
    cj_open_id: SecretStr | None = None
    cj_webhook_path_token: SecretStr | None = Field(
        default=None, description="the secret path segment CJ calls: /webhooks/cj/<token>"
    )
    cj_webhook_path_tokens_previous: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="tokens still accepted while CJ moves to a new one (comma-separated)",
    )
    webhook_max_body_bytes: int = Field(default=256 * 1024, gt=0)
    cj_timeout_seconds: float = Field(default=10.0, gt=0)
    cj_breaker_fail_max: int = Field(
        default=5, gt=0, description="CJ failures in a row that open the circuit breaker"
    )
    cj_breaker_open_seconds: float = Field(
        default=30.0, gt=0, description="how long the open breaker refuses calls to CJ"
    )

    options_file: Path = DEFAULT_OPTIONS_FILE
    rates_ttl: int = Field(default=900, gt=0, description="seconds a quote is fresh")
    rates_stale_ttl: int = Field(default=86400, gt=0, description="seconds a quote may be stale")
    # 2 s: a first view of a new cart and zip just after another's CJ call waits for CJ's
    # next request (1.25 s at 1 request/s) and then CJ's answer (0.3-0.8 s in cjsim): at
    # 1.5 s about 1 such view in 10 got no CJ price (bench/harness/store_bound.py).
    # Medusa's provider waits 2.5 s (rateTimeoutMs) for the answer.
    rates_budget_ms: int = Field(
        default=2000, gt=0, description="milliseconds a rate request may wait for CJ"
    )
    sku_cache_seconds: float = Field(
        default=60.0, ge=0, description="seconds a known SKU's vid is remembered per process"
    )
    rates_cache_enabled: bool = Field(
        default=True, description="off: every rate request asks CJ itself (benchmarks only)"
    )

    notify_url: str = ""
    notify_secret: SecretStr | None = None
    medusa_url: str = ""
    medusa_secret_key: SecretStr | None = None
    medusa_fulfillment_data: bool = Field(
        default=True,
        description="with MEDUSA_URL: keep each Medusa fulfillment's `data` current through "
        "the medusa-fulfillment-cj plugin's route (off for a store without the plugin)",
    )
    medusa_stock_location_id: str = Field(
        default="",
        description="with MEDUSA_URL: the Medusa stock location (`sloc_...`) whose inventory "
        "levels follow CJ's stock; products medusa-import then makes variants that manage "
        "inventory (empty: Medusa's levels are left alone)",
    )
    cancel_after_payment: CancelAfterPayment = CancelAfterPayment.refuse
    ops_notify_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    ops_alert_cj_down_minutes: float = Field(
        default=5.0, gt=0, description="minutes CJ may be unreachable before an ops alert"
    )

    outbox_retry_initial_seconds: float = Field(
        default=30.0, gt=0, description="first wait before a failed notification is sent again"
    )
    run_worker_in_process: bool = False
    submit_budget_ms: int = Field(
        default=3000, gt=0, description="time POST /v1/fulfillments may spend placing the order"
    )
    submit_retry_initial_seconds: float = Field(default=2.0, gt=0)
    submit_retry_max_seconds: float = Field(default=300.0, gt=0)
    submit_give_up_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="a fulfillment CJ could not take this long after it was accepted is failed",
    )
    payment_retry_initial_seconds: float = Field(
        default=300.0, gt=0, description="first wait before a balance payment is tried again"
    )
    payment_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="longest wait between two balance payment attempts"
    )
    payment_give_up_seconds: float = Field(
        default=259_200.0,
        gt=0,
        description="a balance payment still not made this long after acceptance is given up",
    )
    worker_concurrency: int = Field(default=4, gt=0, description="submissions in flight per worker")
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    worker_metrics_host: str = Field(
        default="127.0.0.1", description="where `python -m app.workers` serves /metrics"
    )
    worker_metrics_port: int = Field(
        default=9102, ge=0, le=65535, description="the worker's /metrics port (0: none)"
    )
    worker_niceness: int = Field(
        default=0,
        ge=0,
        le=19,
        description="CPU niceness the worker process adds to its own at start (os.nice, so it "
        "stays that far below a web process started alike): where web and "
        "worker share cores, 10 leaves the webhook intake, which CJ wants answered within 3 s, "
        "the CPU first; the worker's work can lag",
    )
    webhook_apply_batch: int = Field(
        default=200, gt=0, description="stored webhooks one worker applies per transaction"
    )
    webhook_apply_poll_seconds: float = Field(
        default=0.2, gt=0, description="how often an idle worker looks for stored webhooks"
    )
    tracking_poll_quiet_seconds: float = Field(
        default=4 * 3600,
        gt=0,
        description="poll CJ about an order it has been quiet about this long",
    )
    tracking_poll_qps_share: Decimal = Field(
        default=Decimal("0.25"), gt=0, le=1, description="share of CJ_QPS the poller may use"
    )
    dispute_poll_seconds: float = Field(
        default=600, gt=0, description="how often CJ is asked about undecided refund disputes"
    )
    dispute_give_up_seconds: float = Field(
        default=2_592_000,
        gt=0,
        description="a refund dispute CJ has not decided this long after it was opened is "
        "no longer followed (the store is told)",
    )
    medusa_import_markup_percent: Decimal = Field(
        default=Decimal(0),
        ge=0,
        description="products medusa-import: percent added to CJ's sell price for the store's "
        "variant prices",
    )
    catalogue_qps_share: Decimal = Field(
        default=Decimal("0.5"),
        gt=0,
        le=1,
        description="share of CJ_QPS that checking SKUs and reading stock may use",
    )
    stock_poll_seconds: float = Field(
        default=6 * 3600,
        ge=0,
        description="seconds between two reads of the mapped products' stock (0: never)",
    )

    webhook_inbox_retention_days: float = Field(
        default=30, ge=1, description="days a settled CJ webhook is kept (dedupes redeliveries)"
    )
    idempotency_retention_days: float = Field(
        default=30, ge=1, description="days an Idempotency-Key replays its first answer"
    )
    retention_interval_seconds: float = Field(
        default=3600, gt=0, description="seconds between two prunes by the worker"
    )

    @field_validator(
        "service_api_keys", "ops_api_keys", "cj_webhook_path_tokens_previous", mode="before"
    )
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ops_notify_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("ops_notify_urls")
    @classmethod
    def _known_targets(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parse_target(url)  # a ValueError names the rule, never the URL (it has secrets)
        return urls

    @field_validator(
        "cj_api_key",
        "cj_open_id",
        "cj_webhook_path_token",
        "token_encryption_key",
        "notify_secret",
        "medusa_secret_key",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _path_tokens_are_path_segments(self) -> Settings:
        tokens = [self.cj_webhook_path_token, *self.cj_webhook_path_tokens_previous]
        for token in tokens:
            if token is not None and not PATH_TOKEN.fullmatch(token.get_secret_value()):
                raise ValueError(
                    "CJ_WEBHOOK_PATH_TOKEN and CJ_WEBHOOK_PATH_TOKENS_PREVIOUS may hold only "
                    "letters, digits, '-' and '_' (make one: cj-fulfillment cj webhooks token)"
                )
        return self

    @property
    def webhook_path_tokens(self) -> list[SecretStr]:
        """Every path token CJ may call: the current one first, then those being retired."""
        current = [self.cj_webhook_path_token] if self.cj_webhook_path_token else []
        return current + list(self.cj_webhook_path_tokens_previous)

    @model_validator(mode="after")
    def _sinks_need_their_secrets(self) -> Settings:
        """A configured notification sink must be able to sign or authenticate."""
        problems = []
        if self.notify_url and self.notify_secret is None:
            problems.append("NOTIFY_URL needs NOTIFY_SECRET (the webhooks are signed)")
        if self.notify_secret is not None:
            try:
                webhook_signing_key(self.notify_secret)
            except ValueError as exc:
                problems.append(f"NOTIFY_SECRET: {exc}")
        if self.medusa_url and self.medusa_secret_key is None:
            problems.append("MEDUSA_URL needs MEDUSA_SECRET_KEY (a secret API key, sk_...)")
        if self.medusa_stock_location_id and not self.medusa_url:
            problems.append("MEDUSA_STOCK_LOCATION_ID needs MEDUSA_URL")
        if self.medusa_secret_key is not None and not (
            self.medusa_secret_key.get_secret_value().startswith("sk_")
        ):
            problems.append("MEDUSA_SECRET_KEY must be a Medusa secret API key (sk_...)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _production_refuses_weak_settings(self) -> Settings:
        if self.environment is Environment.production:
            refusals = production_refusals(self)
            if refusals:
                raise ValueError("\n".join(refusals))
        return self

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(ValueError):
    """The settings cannot be used; the message has one line per problem."""


def settings_error_lines(error: ValidationError) -> list[str]:
    """One line per problem: the setting's name and what is wrong (never its value)."""
    lines = []
    for item in error.errors():
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        location = ".".join(str(part) for part in item.get("loc", ()))
        if location:
            lines.append(f"{location.upper()}: {message}")
        else:
            lines.extend(message.splitlines())
    return lines


@lru_cache
def get_settings() -> Settings:
    """The process's settings; `SettingsError` (one line per problem) when unusable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError("\n".join(settings_error_lines(exc))) from None
