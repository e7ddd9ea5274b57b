"""When to try a pending submission again: exponential, capped, with jitter (tenacity's
wait strategy, used outside a retry loop because attempts span processes and restarts)."""

from __future__ import annotations

from tenacity import AsyncRetrying, RetryCallState, wait_exponential_jitter


def retry_delay(attempts: int, *, initial: float, maximum: float) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1 for the first)."""
    wait = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)
    state = RetryCallState(AsyncRetrying(), fn=None, args=(), kwargs={})
    state.attempt_number = max(attempts, 1)
    return min(float(wait(state)), maximum)
