"""Prometheus metrics. Every metric lives here so names stay consistent and unique."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests handled, by route template, method and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
# 2.0 and 2.5: RATES_BUDGET_MS and the Medusa provider's rateTimeoutMs, so that a rate
# answer within the budget, one past it and one Medusa gave up on fall in different buckets.
HTTP_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template and method.",
    ["method", "route"],
    buckets=HTTP_LATENCY_BUCKETS,
    registry=REGISTRY,
)
CJ_BREAKER_STATE = Gauge(
    "cj_breaker_state",
    "CJ circuit breaker state: 0 closed, 1 half-open, 2 open.",
    registry=REGISTRY,
)
CJ_CALLS = Counter(
    "cj_calls_total",
    "Calls to CJ's API by operation and outcome (ok, or the error type).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
CJ_CALL_LATENCY = Histogram(
    "cj_call_duration_seconds",
    "Latency of CJ API calls by operation (time on the wire, not waiting for a slot).",
    ["operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
RATES_ANSWERS = Counter(
    "rates_answers_total",
    "Rates answered, one per option priced, by source (live, cache, stale, static).",
    ["source"],
    registry=REGISTRY,
)
RATES_CJ_CALLS_SAVED = Counter(
    "rates_cj_calls_saved_total",
    "Freight quotes served without a CJ call of their own: a fresh cache entry, or a call "
    "already in flight (in this process or another) that the request joined.",
    registry=REGISTRY,
)
RATES_DEFERRED = Counter(
    "rates_deferred_total",
    "Cache misses answered at once from the fallback because CJ's queue could not give them "
    "a slot within the budget; the cart goes on the warmer's list.",
    registry=REGISTRY,
)
RATES_WARMED = Counter(
    "rates_warmed_total",
    "Quotes fetched by the cache warmer, by outcome (ok, or the CJ error).",
    ["outcome"],
    registry=REGISTRY,
)
RATES_BUDGET_OVERRUNS = Counter(
    "rates_budget_overruns_total",
    "Rate requests whose RATES_BUDGET_MS ran out while waiting for CJ (then stale or static).",
    registry=REGISTRY,
)
FULFILLMENT_SUBMISSIONS = Counter(
    "fulfillment_submissions_total",
    "Attempts to place a fulfillment at CJ, by who tried (api, worker) and the outcome: "
    "created (CJ took it now), adopted (CJ already had it), pending (to be retried), "
    "failed (CJ refused it for good), skipped (nothing left to submit).",
    ["source", "outcome"],
    registry=REGISTRY,
)
FULFILLMENT_TRANSITIONS = Counter(
    "fulfillment_status_changes_total",
    "Fulfillment status changes by new status and source.",
    ["to_status", "source"],
    registry=REGISTRY,
)
FULFILLMENT_CANCELS = Counter(
    "fulfillment_cancellations_total",
    "Cancel requests by outcome (cancelled_locally, deleted_at_cj, dispute_opened, refused, "
    "unavailable).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOKS = Counter(
    "cj_webhooks_total",
    "CJ webhooks by topic (ORDER, LOGISTIC, other) and outcome: applied, duplicate, ignored, "
    "awaiting_confirmation, malformed, rejected_unsigned, rejected_bad_signature, confirmed.",
    ["topic", "outcome"],
    registry=REGISTRY,
)
WEBHOOK_INBOX_LAG = Gauge(
    "cj_webhook_inbox_lag_seconds",
    "Age of the oldest CJ webhook still waiting to be confirmed and applied (0 when none).",
    registry=REGISTRY,
)
OUTBOX_DELIVERIES = Counter(
    "outbox_deliveries_total",
    "Outbox delivery attempts by sink and outcome: delivered, already_done (the sink had it "
    "already), retry, auth_error (retried: the sink refused our credentials), dead.",
    ["sink", "outcome"],
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog",
    "Outbox messages waiting for delivery (status pending), by sink.",
    ["sink"],
    registry=REGISTRY,
)
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_pending_age_seconds",
    "Age of the oldest pending outbox message by sink (0 when none is pending).",
    ["sink"],
    registry=REGISTRY,
)
OUTBOX_DEAD_LETTERS = Gauge(
    "outbox_dead_letters",
    "Outbox messages given up on (status dead) until replayed, by sink.",
    ["sink"],
    registry=REGISTRY,
)
OUTBOX_SINK_PAUSED = Gauge(
    "outbox_sink_paused",
    "1 while a sink is paused after failing as a whole (unreachable, 5xx, credentials "
    "refused): its messages wait and one probes it when the pause ends; else 0.",
    ["sink"],
    registry=REGISTRY,
)
READINESS = Gauge(
    "readiness_ok",
    "1 when the last /health/ready answered 200 (the database is reachable), else 0; set "
    "by each readiness probe.",
    registry=REGISTRY,
)
READINESS_CHECKS = Gauge(
    "readiness_check_ok",
    "Per readiness check (database, redis, cj_breaker, cj_token): 1 ok or not configured, "
    "0 down or degraded; set by each readiness probe.",
    ["check"],
    registry=REGISTRY,
)
CJ_POINTS_REMAINING = Gauge(
    "cj_points_remaining",
    "CJ API points left today, from the last `pointsInfo` CJ sent (absent until one came).",
    registry=REGISTRY,
)
CJ_POINTS_TOTAL = Gauge(
    "cj_points_total",
    "The day's CJ API point allowance, from the last `pointsInfo` CJ sent.",
    registry=REGISTRY,
)
CJ_POINTS_EXHAUSTED = Gauge(
    "cj_points_exhausted",
    "1 while CJ's API points are gone (HTTP 429 until 00:00 UTC), else 0.",
    registry=REGISTRY,
)
CJ_TOKEN_REFRESHES = Counter(
    "cj_token_refreshes_total",
    "CJ token renewals by kind (refresh: refreshAccessToken, obtain: getAccessToken) and "
    "outcome (ok, refused, error).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
WORKER_HEARTBEAT = Gauge(
    "worker_heartbeat_timestamp_seconds",
    "Unix time of the worker's last heartbeat (every few seconds while its event loop runs).",
    registry=REGISTRY,
)
WORKER_LOOP_PASS = Gauge(
    "worker_loop_last_pass_timestamp_seconds",
    "Unix time at which each worker loop (submissions, tracking, outbox, ops) last finished "
    "a pass.",
    ["loop"],
    registry=REGISTRY,
)
FULFILLMENTS_BY_STATUS = Gauge(
    "fulfillments_by_status",
    "Fulfillments in the database by status (refreshed by the worker).",
    ["status"],
    registry=REGISTRY,
)
FULFILLMENT_OLDEST_PENDING_AGE = Gauge(
    "fulfillment_oldest_pending_age_seconds",
    "Age of the oldest fulfillment still pending (not yet at CJ), 0 when none (refreshed by "
    "the worker).",
    registry=REGISTRY,
)
WEBHOOK_LAST_RECEIVED = Gauge(
    "cj_webhook_last_received_timestamp_seconds",
    "Unix time of the newest CJ webhook stored, 0 when none ever came (refreshed by the worker).",
    registry=REGISTRY,
)
CJ_TOKEN_EXPIRES = Gauge(
    "cj_token_expires_timestamp_seconds",
    "Unix time at which the stored CJ token expires, by token (access, refresh); 0 when "
    "there is none (refreshed by the worker).",
    ["token"],
    registry=REGISTRY,
)
