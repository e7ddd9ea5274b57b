"""The realistic store's per-answer diagnosis (bench/harness/store_diagnosis.py) on a small
run written by hand: the answers the bench keeps and the service's INFO log."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from harness.store_diagnosis import diagnose

START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _body(zip_code: str, sku: str = "SKU-1") -> dict[str, Any]:
    return {
        "option_id": "us-standard",
        "destination": {"country_code": "US", "zip": zip_code},
        "items": [{"sku": sku, "quantity": 1}],
        "currency": "usd",
    }


def _at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _access(rid: str, due: float, ms: float) -> dict[str, Any]:
    return {"event": "http_request", "request_id": rid, "duration_ms": ms,
            "timestamp": _at(due + ms / 1000)}  # fmt: skip


def _call(rid: str | None, sent: float, ms: float, waited_ms: float) -> dict[str, Any]:
    line = {"event": "cj_call", "operation": "freightCalculate", "outcome": "ok",
            "duration_ms": ms, "slot_wait_ms": waited_ms, "priority": "checkout",
            "timestamp": _at(sent + ms / 1000)}  # fmt: skip
    if rid is not None:
        line["request_id"] = rid
    return line


def test_each_view_not_priced_by_cj_after_the_warmup_is_given_its_reason(
    tmp_path: Path,
) -> None:
    answers = [
        # Before the warmup's end: not counted.
        {"due": 10.0, "request_id": "store-00000", "kind": "static", "latency_ms": 5.0,
         "body": _body("10001")},
        # A first view priced live.
        {"due": 70.0, "request_id": "store-00001", "kind": "live", "latency_ms": 600.0,
         "body": _body("10002")},
        # A first view 0.1 s later: no CJ slot in time, answered at once.
        {"due": 70.1, "request_id": "store-00002", "kind": "static", "latency_ms": 4.0,
         "body": _body("10003")},
        # A first view that waited 1.0 s for its slot and CJ took 0.6 s.
        {"due": 71.25, "request_id": "store-00003", "kind": "static", "latency_ms": 1455.0,
         "body": _body("10004")},
        # The next view of the deferred cart: from the cache.
        {"due": 80.0, "request_id": "store-00004", "kind": "cache", "latency_ms": 3.0,
         "body": _body("10003")},
    ]  # fmt: skip
    lines = [
        _access("store-00000", 10.0, 5.0),
        _access("store-00001", 70.0, 600.0),
        _call("store-00001", 70.0, 590.0, 0.0),
        _access("store-00002", 70.1, 4.0),
        {"event": "rates_deferred", "reason": "no_slot_in_time", "request_id": "store-00002",
         "timestamp": _at(70.104)},
        _call(None, 71.25, 500.0, 1000.0),  # the warmer, for store-00002's cart
        _access("store-00003", 71.25, 1455.0),
        _call("store-00003", 72.5, 600.0, 1250.0),
        {"event": "rates_budget_expired", "request_id": "store-00003",
         "timestamp": _at(72.7)},
        _access("store-00004", 80.0, 3.0),
    ]  # fmt: skip
    (tmp_path / "store-answers.jsonl").write_text("".join(json.dumps(a) + "\n" for a in answers))
    (tmp_path / "store.log").write_text(
        "not json\n" + "".join(json.dumps(line) + "\n" for line in lines)
    )

    report = diagnose(tmp_path)

    assert report[-3] == (
        "after 60 s: 2/4 CJ-priced (50.0%), 2 not; 3 freightCalculate calls "
        "(by priority: checkout 3)"
    )
    assert sorted(report[-2:]) == [
        "    1 answers: budget: slot wait + CJ latency",
        "    1 answers: no CJ slot in time",
    ]
    views = report[:-3]
    assert len(views) == 2
    assert views[0].startswith("due   70.10s FIRST US 10003")
    assert views[1].startswith("due   71.25s FIRST US 10004")
