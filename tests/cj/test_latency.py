"""The transport learns how long CJ takes to answer, per operation."""

from __future__ import annotations

import pytest

from app.cj.transport import LatencyEstimate


def test_unknown_until_seen_then_mean_plus_twice_the_deviation() -> None:
    estimate = LatencyEstimate()
    assert estimate.likely_within("freightCalculate") == 0.0
    estimate.observe("freightCalculate", 0.4)
    assert estimate.likely_within("freightCalculate") == pytest.approx(0.4 + 2 * 0.2)
    assert estimate.likely_within("createOrderV2") == 0.0


def test_the_quickest_answers_are_the_mean_less_twice_the_deviation() -> None:
    estimate = LatencyEstimate()
    assert estimate.fastest_within("freightCalculate") == 0.0
    estimate.observe("freightCalculate", 0.4)
    assert estimate.fastest_within("freightCalculate") == 0.0  # one answer: any may be quick
    for seconds in [0.3, 0.8] * 50:
        estimate.observe("freightCalculate", seconds)
    assert 0.0 <= estimate.fastest_within("freightCalculate") < 0.3
    for _ in range(100):
        estimate.observe("freightCalculate", 0.5)
    assert estimate.fastest_within("freightCalculate") == pytest.approx(0.5, abs=0.02)


def test_it_follows_a_steady_latency_and_covers_its_spread() -> None:
    estimate = LatencyEstimate()
    for seconds in [0.3, 0.8] * 50:
        estimate.observe("freightCalculate", seconds)
    assert 0.8 < estimate.likely_within("freightCalculate") < 1.6
    for _ in range(100):
        estimate.observe("freightCalculate", 0.05)
    assert estimate.likely_within("freightCalculate") == pytest.approx(0.05, abs=0.01)
