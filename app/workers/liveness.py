"""`python -m app.workers.liveness [URL]`: exit 0 when the worker at URL (default
http://127.0.0.1:9102/metrics) has beaten recently, 1 otherwise, with one line saying why.

For container health checks and process supervisors: a worker whose event loop is stuck
still answers on its metrics thread, but its heartbeat stops moving.
"""

from __future__ import annotations

import sys
import time
import urllib.request
from collections.abc import Sequence

from prometheus_client.parser import text_string_to_metric_families

DEFAULT_URL = "http://127.0.0.1:9102/metrics"
# Beats come every 5 s; three missed ones (and a slow scrape) mean the loop is not running.
MAX_AGE_SECONDS = 20.0


def heartbeat_age(metrics_text: str, now: float) -> float | None:
    """Seconds since the heartbeat in a /metrics page; None when it has none."""
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "worker_heartbeat_timestamp_seconds":
            for sample in family.samples:
                if sample.value > 0:
                    return max(now - sample.value, 0.0)
    return None


def check(url: str, *, max_age: float = MAX_AGE_SECONDS) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            text = response.read().decode()
    except OSError as exc:
        return False, f"worker metrics unreachable at {url}: {exc}"
    age = heartbeat_age(text, time.time())
    if age is None:
        return False, "no heartbeat yet (worker starting, or not a worker's /metrics)"
    if age > max_age:
        return False, f"last heartbeat {age:.0f}s ago (more than {max_age:.0f}s)"
    return True, f"alive: last heartbeat {age:.1f}s ago"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    alive, line = check(args[0] if args else DEFAULT_URL)
    print(line, file=sys.stdout if alive else sys.stderr)
    return 0 if alive else 1


if __name__ == "__main__":
    raise SystemExit(main())
