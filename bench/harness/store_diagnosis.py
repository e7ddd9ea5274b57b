"""Why each answer of the realistic store after its first minute did not carry CJ's price.

Reads a store run's `store-answers.jsonl` and its service log (`store.log`, run with
`bench/rates.py --only-store --store-log-level INFO`) and prints, per view (the requests
of one cart and destination due at the same time) that was not CJ-priced: whether the cart
and zip were asked before, what the service logged for those requests (fallback reason,
the CJ call they started: its wait for a rate-limit slot and CJ's answer time), and the
CJ calls that held CJ's requests just before it. Then a count of the reasons.

    python bench/harness/store_diagnosis.py bench/results/rates-<stamp>-logs
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

CJ_PRICED = ("live", "cache")


def _pair(body: dict[str, Any]) -> tuple[Any, ...]:
    items = tuple(sorted((i["sku"], i["quantity"]) for i in body["items"]))
    destination = body["destination"]
    return destination["country_code"], destination["zip"], items


def _ts(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()


def diagnose(log_dir: Path) -> list[str]:
    answers = [json.loads(line) for line in (log_dir / "store-answers.jsonl").open()]
    lines = []
    for raw in (log_dir / "store.log").open():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    by_request: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        if "request_id" in line:
            by_request[line["request_id"]].append(line)
    started: dict[str, float] = {}  # wall clock start of each store request
    for rid, events in by_request.items():
        for event in events:
            if event["event"] == "http_request":
                started[rid] = _ts(event) - event["duration_ms"] / 1000
    # CJ's freight calls: (slot asked, sent, answered) in wall clock, with who and priority.
    calls = []
    for line in lines:
        if line["event"] == "cj_call" and line.get("operation") == "freightCalculate":
            end = _ts(line)
            sent = end - line["duration_ms"] / 1000
            calls.append(
                {
                    "asked": sent - line.get("slot_wait_ms", 0) / 1000,
                    "sent": sent,
                    "end": end,
                    "rid": line.get("request_id", "-"),
                    "priority": line.get("priority", "?"),
                    "outcome": line["outcome"],
                }
            )
    calls.sort(key=lambda c: c["sent"])
    # The start of the run in wall clock, from the answers whose start is known.
    offsets = [started[a["request_id"]] - a["due"] for a in answers if a["request_id"] in started]
    zero = min(offsets) if offsets else 0.0
    warmup = 60.0

    views: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for answer in answers:
        views[(answer["due"], _pair(answer["body"]))].append(answer)
    seen_before: set[tuple[Any, ...]] = set()
    out = []
    reasons: Counter[str] = Counter()
    missed_answers = 0
    for (due, pair), group in sorted(views.items(), key=lambda kv: kv[0][0]):
        first = pair not in seen_before
        seen_before.add(pair)
        kinds = Counter(a["kind"] for a in group)
        if due < warmup or all(a["kind"] in CJ_PRICED for a in group):
            continue
        missed = sum(n for k, n in kinds.items() if k not in CJ_PRICED)
        missed_answers += missed
        rids = [a["request_id"] for a in group]
        events = [e for rid in rids for e in by_request.get(rid, [])]
        own = [
            e["event"] + (f"({e['reason']})" if "reason" in e else "")
            for e in events
            if e["event"] in ("rates_budget_expired", "rates_deferred")
        ]
        own_calls = [c for c in calls if c["rid"] in rids]
        t0 = zero + due
        before = [c for c in calls if c["sent"] <= t0 + 1.5 and c["end"] >= t0 - 1.5]
        desc_calls = "; ".join(
            f"{c['priority']} {c['rid']} sent {c['sent'] - t0:+.2f}s (waited "
            f"{c['sent'] - c['asked']:.2f}s) answered {c['end'] - t0:+.2f}s"
            for c in before
        )
        latency = max(a["latency_ms"] for a in group)
        if any(e.startswith("rates_deferred(backlog") for e in own):
            reason = "deferred: backlog"
        elif any(e.startswith("rates_deferred(no_slot") for e in own):
            reason = "no CJ slot in time"
        elif own_calls and "rates_budget_expired" in own:
            c = own_calls[0]
            reason = (
                "budget: slot wait + CJ latency"
                if c["sent"] - c["asked"] > 0.05
                else "budget: CJ latency alone"
            )
        elif "rates_budget_expired" in own:
            reason = "budget: no call of its own (joined / other process)"
        else:
            reason = "other"
        if not first:
            reason = "repeat view: " + reason
        reasons[reason] += missed
        out.append(
            f"due {due:7.2f}s {'FIRST' if first else 'repeat'} {pair[0]} {pair[1]} "
            f"{len(pair[2])} lines: {dict(kinds)} in {latency:.0f} ms; {', '.join(own) or '-'}"
            f"; own calls {len(own_calls)}; calls around: {desc_calls or 'none'} => {reason}"
        )
    after = [a for a in answers if a["due"] >= warmup]
    priced = sum(1 for a in after if a["kind"] in CJ_PRICED)
    out.append(
        f"after {warmup:g} s: {priced}/{len(after)} CJ-priced "
        f"({100 * priced / max(len(after), 1):.1f}%), {missed_answers} not; "
        f"{len(calls)} freightCalculate calls (by priority: "
        + ", ".join(f"{p} {n}" for p, n in Counter(c["priority"] for c in calls).most_common())
        + ")"
    )
    out += [f"  {n:3d} answers: {reason}" for reason, n in reasons.most_common()]
    return out


if __name__ == "__main__":
    for text in diagnose(Path(sys.argv[1])):
        print(text)
