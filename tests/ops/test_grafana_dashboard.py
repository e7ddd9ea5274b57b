"""ops/grafana/cj-fulfillment.json: a classic Grafana dashboard that imports as it is
(Dashboards → New → Import): the JSON model's fields, a Prometheus data source variable
every query uses, panels on the 24-column grid without overlaps, and queries that are
valid PromQL (promtool parses them) over metrics the app exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.promql import PROMETHEUS_SERIES, exported_series, metric_names

DASHBOARD = Path(__file__).resolve().parents[2] / "ops" / "grafana" / "cj-fulfillment.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_COLUMNS = 24


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _queries(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (panel["title"], target)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_the_json_model_s_fields(dashboard: dict[str, Any]) -> None:
    assert dashboard["id"] is None, "a new dashboard on import"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard["uid"])
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["time"] == {"from": "now-6h", "to": "now"}
    assert isinstance(dashboard["panels"], list)
    assert dashboard["panels"]
    assert isinstance(dashboard["templating"]["list"], list)
    assert isinstance(dashboard["annotations"]["list"], list)
    assert "__inputs" not in dashboard, "no import-time inputs: the variable picks the source"


def test_one_prometheus_data_source_variable_used_everywhere(dashboard: dict[str, Any]) -> None:
    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == DATASOURCE, panel["title"]
    for title, target in _queries(dashboard):
        assert target["datasource"] == DATASOURCE, title


def test_panels_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    taken: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        assert panel["type"] in {"row", "timeseries", "stat"}
        grid = panel["gridPos"]
        assert all(isinstance(grid[key], int) for key in ("h", "w", "x", "y"))
        assert min(grid["w"], grid["h"]) >= 1
        assert min(grid["x"], grid["y"]) >= 0
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_query_reads_exported_metrics(dashboard: dict[str, Any]) -> None:
    exported = exported_series() | PROMETHEUS_SERIES
    for title, target in _queries(dashboard):
        names = metric_names(target["expr"])
        assert names, title
        assert names <= exported, f"{title}: {sorted(names - exported)} not exported"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            ref_ids = [target["refId"] for target in panel["targets"]]
            assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_the_issue_s_views_are_there(dashboard: dict[str, Any]) -> None:
    used = set().union(*(metric_names(target["expr"]) for _, target in _queries(dashboard)))
    assert used >= {
        "rates_answers_total",  # checkout rates by source
        "http_request_duration_seconds_bucket",  # and their latency
        "fulfillments_by_status",  # orders by status
        "cj_calls_total",  # CJ calls
        "cj_breaker_state",  # and the breaker
        "cj_webhooks_total",  # webhooks in and applied
        "outbox_backlog",  # outbox backlog
    }


def test_every_query_is_valid_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: `make services` installs it (Debian package prometheus)")
    rules = [
        {"record": f"dashboard:query_{n}", "expr": target["expr"].replace("$__rate_interval", "5m")}
        for n, (_, target) in enumerate(_queries(dashboard))
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
