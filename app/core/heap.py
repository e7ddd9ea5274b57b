"""Short full garbage collections in the serving process.

CPython's full collection (generation 2) walks every object the collector tracks, and a
web process holds about 150,000 once started (FastAPI, SQLAlchemy, pydantic,
prometheus_client, our modules and the container), none of which is ever garbage. Each
full collection walked them all: 130-300 ms in which the process answered nothing
(bench/webhooks.py at 1000 messages/s, timed with gc.callbacks), the longest stalls of
the webhook intake. What exists once the process has started is moved out of the
collector's reach (`gc.freeze`); what requests create is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once, then keep what survived out of every later collection."""
    gc.collect()
    gc.freeze()


def thaw_heap() -> None:
    """Give the frozen objects back to the collector (the app is stopping)."""
    gc.unfreeze()
