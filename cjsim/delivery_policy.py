"""CJ's rules for webhook deliveries that fail (API_FACTS §3.2), kept per account and topic.

- Retries: after a non-200 (or no answer), CJ tries again after 5 minutes, up to 3 times,
  then drops the message (the Chinese webhook page). The simulator queues them; the due
  ones go out when `/_sim/webhooks/retry` is called (tests and drills move time on).
- Auto-close: a topic whose success rate was below 80 % in each of the two previous full
  hours is switched off (its callback removed, as if CANCELled) and stays off until it is
  registered again (the English API page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RETRY_AFTER_S = 300.0
MAX_RETRIES = 3
CLOSE_BELOW = 0.8
HOUR_S = 3600


@dataclass
class PendingRetry:
    due: float
    api_key: str
    topic: str
    url: str
    message: dict[str, Any]
    retries: int  # retries already made, this one included


@dataclass
class DeliveryBook:
    retries: list[PendingRetry] = field(default_factory=list)
    # (api_key, topic, hour number) -> [answered 200, attempts]
    hours: dict[tuple[str, str, int], list[int]] = field(default_factory=dict)
    closed: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self,
        now: float,
        api_key: str,
        topic: str,
        url: str,
        message: dict[str, Any],
        *,
        ok: bool,
        retries: int,
    ) -> None:
        counts = self.hours.setdefault((api_key, topic, int(now // HOUR_S)), [0, 0])
        counts[0] += int(ok)
        counts[1] += 1
        if not ok and retries < MAX_RETRIES:
            self.retries.append(
                PendingRetry(now + RETRY_AFTER_S, api_key, topic, url, message, retries + 1)
            )

    def should_close(self, now: float, api_key: str, topic: str) -> bool:
        """Below 80 % in each of the two previous full hours (an hour with no attempt is
        not below anything)."""
        hour = int(now // HOUR_S)
        for previous in (hour - 1, hour - 2):
            ok, total = self.hours.get((api_key, topic, previous), [0, 0])
            if total == 0 or ok / total >= CLOSE_BELOW:
                return False
        return True

    def take_due(self, now: float) -> list[PendingRetry]:
        due = [r for r in self.retries if r.due <= now]
        self.retries = [r for r in self.retries if r.due > now]
        return due
