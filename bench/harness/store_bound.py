"""What share of the realistic store's answers a checkout scheduler like the service's can
price with CJ, by Monte Carlo over CJ's answer time: the ceiling `bench/rates.py`'s store
level is measured against.

Model (the service's rules, bench/rates.py's CJ): a view of a (cart, zip) pair already
quoted is priced from the cache. A first view asks CJ: its call leaves at the next free
slot (one every `spacing_s`: CJ_QPS times the limiter's safety factor), when that comes
early enough for CJ's quickest answer (`fastest_s`) to arrive within the budget; the answer,
drawn uniformly from `latency_s`, prices the view when it arrives by the budget (less the
reserve kept to build the answer), and fills the cache either way. A first view whose slot
comes too late is answered from the fallback at once and its cart is quoted at the next
slot no checkout takes (the warmer). Every pair costs one CJ call, whatever the scheduler:
its cart is known only when it is first asked.

    python bench/harness/store_bound.py [--seeds N] [--spacing S ...] [--budget B ...]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from app.cj.ratelimit import SAFETY_FACTOR
from app.core.config import Settings
from harness.processes import ROOT
from harness.store_traffic import Due, StoreMix, plan_store
from harness.workload import Variant, options_by_country

# The service's own defaults: CJ_QPS 1 times the limiter's margin, and RATES_BUDGET_MS.
SPACING_S = float(SAFETY_FACTOR)
BUDGET_S = Settings.model_fields["rates_budget_ms"].default / 1000


@dataclass(frozen=True)
class CJModel:
    spacing_s: float = SPACING_S
    budget_s: float = BUDGET_S
    reserve_s: float = 0.05  # ANSWER_RESERVE_SECONDS (app/services/rates.py)
    fastest_s: float = 0.3  # the service's estimate of CJ's quickest answers
    latency_s: tuple[float, float] = (0.3, 0.8)  # cjsim: 550 ± 250 ms


def first_views(plan: Sequence[Due]) -> tuple[list[tuple[float, int]], list[float]]:
    """The first view of each (cart, destination) pair (its time, how many requests), and
    the due time of every request."""
    views: Counter[tuple[float, str]] = Counter()
    for due in plan:
        body = json.loads(due.body)
        # What the quote cache's key holds (app/services/quote_cache.py) but the origin:
        # the default file's options for one country all ship from one.
        items = sorted((item["sku"], item["quantity"]) for item in body["items"])
        pair = json.dumps([body["destination"]["country_code"], body["destination"]["zip"], items])
        views[(due.at, pair)] += 1
    first: dict[str, tuple[float, int]] = {}
    for (at, pair), requests in sorted(views.items()):
        first.setdefault(pair, (at, requests))
    return sorted(first.values()), [due.at for due in plan]


def missed(
    views: Sequence[tuple[float, int]], model: CJModel, rng: random.Random, after: float
) -> int:
    """Requests due at `after` or later that one draw of CJ's answer times leaves unpriced."""
    next_free = 0.0
    warmer: list[float] = []
    lost = 0
    for at, requests in views:
        while warmer and max(next_free, warmer[0]) < at:  # a slot no checkout takes
            next_free = max(next_free, warmer.pop(0)) + model.spacing_s
        wait = max(next_free - at, 0.0)
        if wait > model.budget_s - model.fastest_s:
            warmer.append(at)
            lost += requests if at >= after else 0
            continue
        next_free = at + wait + model.spacing_s
        if wait + rng.uniform(*model.latency_s) > model.budget_s - model.reserve_s:
            lost += requests if at >= after else 0
    return lost


def expected_share(
    plan: Sequence[Due], model: CJModel, mix: StoreMix, draws: int, rng: random.Random
) -> tuple[float, float]:
    """The mean share of CJ-priced answers after the warm-up, and the chance of >= 99 %."""
    views, due = first_views(plan)
    after = sum(1 for at in due if at >= mix.warmup_seconds)
    shares = [1 - missed(views, model, rng, mix.warmup_seconds) / after for _ in range(draws)]
    return 100 * sum(shares) / draws, sum(1 for s in shares if s >= 0.99) / draws


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="plans (the bench's seed first)")
    parser.add_argument("--draws", type=int, default=2000, help="per plan")
    parser.add_argument("--spacing", type=float, nargs="+", default=[SPACING_S])
    parser.add_argument("--budget", type=float, nargs="+", default=[BUDGET_S])
    parser.add_argument("--seconds", type=float, default=180.0)
    args = parser.parse_args(argv)
    from cjsim import catalog

    variants = [Variant(ref=v.sku, weight_g=v.weight_g) for v in catalog.VARIANTS]
    serving = options_by_country(ROOT / "app" / "options.default.yaml")
    rng = random.Random(1)
    base = StoreMix()
    plans = [
        plan_store(variants, serving, StoreMix(seed=base.seed + n), args.seconds)
        for n in range(args.seeds)
    ]
    for spacing in args.spacing:
        for budget in args.budget:
            model = CJModel(spacing_s=spacing, budget_s=budget)
            results = [expected_share(p, model, base, args.draws, rng) for p in plans]
            mean = sum(r[0] for r in results) / len(results)
            chance = sum(r[1] for r in results) / len(results)
            print(
                f"spacing {spacing:.2f} s, budget {budget:.2f} s, {len(plans)} plan(s): "
                f"{mean:.2f}% CJ-priced after the first minute on average, "
                f"{100 * chance:.0f}% of runs at 99% or more"
            )


if __name__ == "__main__":
    main()
