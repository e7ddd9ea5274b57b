"""Single flight for freight quotes: identical concurrent requests share one CJ call.

In this process, one task per cart and route does the work and every request for the same
key awaits it. Across processes, a Redis lock (`SET NX PX`) elects the process that calls
CJ; the others poll the quote cache until the new entry appears, or stop waiting when the
lock is gone without one (the holder failed or died; the lock also expires by itself).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.cj.errors import CJTimeout, CJUnavailable
from app.services.quote_cache import FreightKey, QuoteSet, QuoteStore

log = structlog.get_logger(__name__)

LOCK_PREFIX = "rates:flight:"
POLL_SECONDS = 0.025
STOP_GRACE_SECONDS = 1.0
# Deletes the lock only while it is still ours (it may have expired and been retaken).
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Flight:
    """The outcome of one shared fetch; `called_cj` is False when another process did."""

    quotes: QuoteSet
    called_cj: bool


Fetch = Callable[[], Awaitable[QuoteSet]]
Check = Callable[[], Awaitable[None]]


class QuoteFlights:
    def __init__(self, store: QuoteStore, redis: Redis | None, lock_ttl: timedelta) -> None:
        self._store = store
        self._redis = redis
        self._lock_ms = int(lock_ttl.total_seconds() * 1000)
        self._tasks: dict[str, asyncio.Task[Flight]] = {}
        self._release = redis.register_script(_RELEASE_SCRIPT) if redis is not None else None

    def in_flight(self, key: FreightKey) -> bool:
        """Whether this process is already fetching `key`."""
        return key.digest in self._tasks

    def join(
        self,
        key: FreightKey,
        fetch: Fetch,
        *,
        newer_than: datetime | None,
        wait_until: float,
        before_lock: Check | None = None,
    ) -> tuple[asyncio.Task[Flight], bool]:
        """The task bringing a new entry for `key`, and whether it was already in flight.

        `newer_than` is the entry the caller already has (a process that waits for another
        accepts only a newer one); `wait_until` (monotonic) bounds that wait. `before_lock`
        may raise, as the fetch would, before the cross-process lock is taken: what the
        process learnt since the task was started can spare the lock's round trips.
        """
        digest = key.digest
        task = self._tasks.get(digest)
        if task is not None:
            return task, True
        task = asyncio.get_running_loop().create_task(
            self._fly(key, fetch, newer_than, wait_until, before_lock),
            name=f"rates-flight-{digest[:12]}",
        )
        self._tasks[digest] = task
        task.add_done_callback(lambda done: self._landed(digest, done))
        return task, False

    def _landed(self, digest: str, task: asyncio.Task[Flight]) -> None:
        if self._tasks.get(digest) is task:
            del self._tasks[digest]
        if not task.cancelled() and task.exception() is not None:
            # Every waiter has its own copy; this marks the task's exception as retrieved
            # when the last waiter had already given up.
            log.debug("rates_flight_failed", error=type(task.exception()).__name__)

    async def _fly(
        self,
        key: FreightKey,
        fetch: Fetch,
        newer_than: datetime | None,
        wait_until: float,
        before_lock: Check | None,
    ) -> Flight:
        if self._redis is None or self._release is None:
            return Flight(await fetch(), called_cj=True)
        if before_lock is not None:
            await before_lock()
        lock = LOCK_PREFIX + key.digest
        token = uuid.uuid4().hex
        try:
            owner = bool(await self._redis.set(lock, token, nx=True, px=self._lock_ms))
        except RedisError as exc:
            log.warning("rates_flight_lock_failed", error=type(exc).__name__)
            return Flight(await fetch(), called_cj=True)
        if not owner:
            return Flight(await self._await_other(key, lock, newer_than, wait_until), False)
        try:
            return Flight(await fetch(), called_cj=True)
        finally:
            try:
                await asyncio.shield(self._release(keys=[lock], args=[token]))
            except RedisError as exc:
                log.warning("rates_flight_unlock_failed", error=type(exc).__name__)

    async def _await_other(
        self, key: FreightKey, lock: str, newer_than: datetime | None, wait_until: float
    ) -> QuoteSet:
        assert self._redis is not None

        async def landed() -> QuoteSet | None:
            entry = await self._store.get(key)
            if entry is not None and (newer_than is None or entry.fetched_at > newer_than):
                return entry
            return None

        while time.monotonic() < wait_until:
            await asyncio.sleep(POLL_SECONDS)
            entry = await landed()
            if entry is not None:
                return entry
            try:
                holding = bool(await self._redis.exists(lock))
            except RedisError:
                holding = True  # cannot tell: keep waiting until wait_until
            if not holding:
                entry = await landed()
                if entry is not None:
                    return entry
                raise CJUnavailable("the CJ call another process made for this quote failed")
        raise CJTimeout("no quote from the process asking CJ before the deadline")

    async def aclose(self) -> None:
        for task in list(self._tasks.values()):
            await stop_task(task, STOP_GRACE_SECONDS)


async def stop_task(task: asyncio.Task[Any], grace: float) -> None:
    """Let `task` finish for `grace` seconds, then cancel it and wait as long again; never
    waits longer (a task cancelled inside a Redis read can stay stuck)."""
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=grace)
