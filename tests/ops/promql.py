"""The metric names a PromQL expression reads, and the names the app exports, so the
alert rules and the dashboard can be checked against app/core/metrics.py."""

from __future__ import annotations

import re

from prometheus_client.metrics_core import Metric

from app.core.metrics import REGISTRY

# Series Prometheus itself makes for every scrape target.
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds"})

_FUNCTIONS_AND_KEYWORDS = frozenset(
    [
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "rate",
        "irate",
        "increase",
        "delta",
        "absent",
        "time",
        "histogram_quantile",
        "by",
        "without",
        "on",
        "ignoring",
        "and",
        "or",
        "unless",
        "bool",
        "topk",
        "bottomk",
        "round",
        "clamp_min",
        "clamp_max",
        "vector",
        "scalar",
        "label_replace",
        "humanize",
    ]
)
_LABEL_SETS = re.compile(r"\{[^}]*\}|\b(?:by|without|on|ignoring)\s*\([^)]*\)")
_RANGES = re.compile(r"\[[^\]]*\]")
_STRINGS = re.compile(r'"[^"]*"')
_IDENTIFIER = re.compile(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expression: str) -> set[str]:
    """Every metric an expression selects (label matchers, ranges and functions removed)."""
    text = _LABEL_SETS.sub(" ", _STRINGS.sub(" ", expression))
    text = _RANGES.sub(" ", text)
    text = re.sub(r"\$\w+", " ", text)  # Grafana variables such as $__rate_interval
    return {name for name in _IDENTIFIER.findall(text) if name not in _FUNCTIONS_AND_KEYWORDS}


def _series_of(family: Metric) -> set[str]:
    if family.type == "counter":
        return {f"{family.name}_total"}
    if family.type == "histogram":
        return {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    return {family.name}


def exported_series() -> set[str]:
    """The series names the service's /metrics can contain."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        names |= _series_of(family)
    return names
