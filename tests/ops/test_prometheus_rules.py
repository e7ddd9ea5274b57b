"""ops/prometheus/alerts.yml: valid for promtool, each alert fired and kept quiet by its
unit tests (alerts_test.yml), every summary and runbook present, and every metric it
reads one the app exports."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ops.promql import PROMETHEUS_SERIES, exported_series, metric_names

RULES_DIR = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
RULES = RULES_DIR / "alerts.yml"
RULE_TESTS = RULES_DIR / "alerts_test.yml"


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: `make services` installs it (Debian package prometheus)")
    return promtool


def _alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_check_rules() -> None:
    result = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_scrape_config_is_valid_and_names_the_rules_jobs(tmp_path: Path) -> None:
    config = yaml.safe_load((RULES_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"cj-fulfillment-web", "cj-fulfillment-worker"}
    assert 'job="cj-fulfillment-web"' in RULES.read_text()
    # The web job sends an OPS_API_KEYS bearer (production closes /metrics without one).
    key_file = tmp_path / "ops-key"
    key_file.write_text("k" * 40)
    jobs["cj-fulfillment-web"]["authorization"]["credentials_file"] = str(key_file)
    (tmp_path / "alerts.yml").write_text(RULES.read_text())
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [_promtool(), "check", "config", str(checked)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = subprocess.run(
        [_promtool(), "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        check=False,
        cwd=RULES_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {str(rule["alert"]) for rule in _alerts()}
    assert names - fired == set(), "alerts without a test that fires them"
    assert names - quiet == set(), "alerts without a test that keeps them quiet"


def test_the_issue_s_alerts_are_all_there() -> None:
    assert {str(rule["alert"]) for rule in _alerts()} >= {
        "FulfillmentsFailed",
        "FulfillmentsPendingTooLong",
        "FulfillmentCreateFailures",
        "CheckoutStaticRatesHigh",
        "CJCircuitBreakerOpen",
        "CJPointsLow",
        "OutboxDeadLetters",
        "CJWebhooksSilent",
        "CJTokenRefreshFailing",
        "CJTokenExpiringSoon",
        "WorkerDown",
        "ReadinessFailing",
    }


@pytest.mark.parametrize("rule", _alerts(), ids=lambda rule: str(rule["alert"]))
def test_alert_reads_only_exported_metrics_and_explains_itself(rule: dict[str, object]) -> None:
    unknown = metric_names(str(rule["expr"])) - exported_series() - PROMETHEUS_SERIES
    assert unknown == set(), f"not exported by the app: {sorted(unknown)}"
    annotations = rule["annotations"]
    assert isinstance(annotations, dict)
    assert len(annotations.get("summary", "")) > 20
    assert len(annotations.get("runbook", "")) > 20
    labels = rule["labels"]
    assert isinstance(labels, dict)
    assert labels["severity"] in {"warning", "critical"}


def test_metric_names_sees_through_promql() -> None:
    expression = (
        'sum(rate(a_total{x="y"}[5m])) / on() max by (status) (b{s=~"u|v"})'
        " and time() - c > 60 or absent(d)"
    )
    assert metric_names(expression) == {"a_total", "b", "c", "d"}
