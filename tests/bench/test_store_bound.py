"""The realistic store's ceiling model (bench/harness/store_bound.py) on plans written by
hand: one CJ call per new (cart, zip), spaced, each answer in time or not."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from harness.store_bound import CJModel, first_views, missed
from harness.store_traffic import Due


def _due(at: float, zip_code: str, option: str = "us-standard") -> Due:
    body = {
        "option_id": option,
        "destination": {"country_code": "US", "zip": zip_code},
        "items": [{"sku": "SKU-1", "quantity": 1}],
        "currency": "usd",
    }
    return Due(at, json.dumps(body).encode())


def test_only_a_pairs_first_view_asks_cj_with_all_its_options() -> None:
    plan = [
        _due(61.0, "10001"),
        _due(61.0, "10001", "us-expedited"),
        _due(70.0, "10001"),  # the next view: from the cache
        _due(80.0, "10002"),
    ]
    views, due = first_views(plan)
    assert views == [(61.0, 2), (80.0, 1)]
    assert due == [61.0, 61.0, 70.0, 80.0]


def test_a_new_cart_asked_just_after_another_waits_for_cjs_next_request_and_misses() -> None:
    views = [(61.0, 2), (61.05, 2), (90.0, 1)]
    rng = random.Random(0)
    # The second cart's request comes 1.2 s later: no answer by a 1.5 s budget.
    assert missed(views, CJModel(spacing_s=1.25, budget_s=1.5), rng, after=60.0) == 2
    # Requests as often as wanted: CJ's slowest answer is still in time.
    assert missed(views, CJModel(spacing_s=0.0), rng, after=60.0) == 0
    # Before the warm-up's end nothing is counted.
    assert missed(views, CJModel(spacing_s=1.25, budget_s=1.5), rng, after=100.0) == 0
