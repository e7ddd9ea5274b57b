"""The CJ circuit breaker: pybreaker's state machine, driven from async code.

pybreaker is synchronous. Its `calling()` context manager only touches in-memory state,
so it is used around each awaited attempt without blocking the loop. When Redis is
configured the state is shared: every local transition is published to Redis in a
background task, and a sync loop adopts transitions made by other processes. A process
therefore opens (or closes) within about a second of the first one that saw the outage.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import pybreaker
import structlog
from redis.asyncio import Redis

from app.cj.errors import CJCircuitOpen, counts_against_breaker
from app.core.metrics import CJ_BREAKER_STATE

log = structlog.get_logger(__name__)

_STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}
SYNC_INTERVAL_SECONDS = 1.0


class _Listener(pybreaker.CircuitBreakerListener):
    def __init__(self, owner: CJBreaker) -> None:
        self._owner = owner

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self._owner._on_state_change(old_state.name if old_state else None, new_state.name)


class CJBreaker:
    def __init__(
        self,
        redis: Redis | None = None,
        *,
        fail_max: int = 5,
        reset_timeout: float = 30.0,
        key: str = "cj:breaker",
    ) -> None:
        self._redis = redis
        self._key = key
        self._storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            exclude=[lambda exc: not counts_against_breaker(exc)],
            listeners=[_Listener(self)],
            state_storage=self._storage,
            name="cj",
            throw_new_error_on_trip=False,
        )
        self._adopting = False
        self._last_published: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sync_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        CJ_BREAKER_STATE.set(0)

    @property
    def state(self) -> str:
        """closed, open or half_open (the spelling of /health/ready)."""
        return str(self._breaker.current_state).replace("-", "_")

    def check(self) -> None:
        """Fail fast, before waiting for a rate-limit slot, while the breaker is open."""
        if self._breaker.current_state != pybreaker.STATE_OPEN:
            return
        opened_at = self._storage.opened_at
        reset = timedelta(seconds=self._breaker.reset_timeout)
        if opened_at is not None and datetime.now(UTC) < opened_at + reset:
            raise CJCircuitOpen("CJ is failing; the circuit breaker is open")

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run one attempt under the breaker; CJCircuitOpen when it is open."""
        try:
            calling = self._breaker.calling()
            calling.__enter__()
        except pybreaker.CircuitBreakerError as exc:
            raise CJCircuitOpen("CJ is failing; the circuit breaker is open") from exc
        try:
            yield
        except BaseException as exc:
            # pybreaker counts the failure (or not, for business errors) and re-raises.
            if not calling.__exit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            calling.__exit__(None, None, None)

    def _on_state_change(self, old: str | None, new: str) -> None:
        CJ_BREAKER_STATE.set(_STATE_VALUES.get(new, 0))
        log.warning("cj_breaker_state_changed", old=old, new=new)
        if self._redis is None or self._adopting:
            return
        opened_at = self._storage.opened_at
        payload = json.dumps(
            {
                "state": new,
                "opened_at": opened_at.isoformat() if opened_at else None,
                "at": datetime.now(UTC).isoformat(),
            }
        )
        self._last_published = payload
        with suppress(RuntimeError):
            task = asyncio.get_running_loop().create_task(self._publish(payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _publish(self, payload: str) -> None:
        assert self._redis is not None
        try:
            await self._redis.set(self._key, payload, ex=3600)
        except Exception as exc:
            log.warning("cj_breaker_publish_failed", error=type(exc).__name__)

    async def sync_once(self) -> None:
        """Adopt a state another process published, if it differs from ours."""
        if self._redis is None:
            return
        raw = await self._redis.get(self._key)
        if raw is None:
            return
        payload = raw.decode() if isinstance(raw, bytes) else str(raw)
        if payload == self._last_published:
            return
        self._last_published = payload
        remote = json.loads(payload)
        state = remote.get("state")
        if state not in _STATE_VALUES or state == self._breaker.current_state:
            return
        self._adopting = True
        try:
            if remote.get("opened_at"):
                self._storage.opened_at = datetime.fromisoformat(remote["opened_at"])
            self._storage.state = state
            _ = self._breaker.state  # pybreaker notices the storage change and notifies
        finally:
            self._adopting = False

    async def _sync_loop(self) -> None:
        # Stopped by an event rather than by cancellation: cancelling a task inside a
        # Redis read can leave it stuck, and shutdown must never hang.
        while not self._stopping.is_set():
            try:
                await self.sync_once()
            except Exception as exc:
                log.warning("cj_breaker_sync_failed", error=type(exc).__name__)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), SYNC_INTERVAL_SECONDS)

    def start(self) -> None:
        if self._redis is not None and self._sync_task is None:
            self._stopping.clear()
            self._sync_task = asyncio.get_running_loop().create_task(self._sync_loop())

    async def stop(self) -> None:
        if self._sync_task is not None:
            self._stopping.set()
            done, _ = await asyncio.wait({self._sync_task}, timeout=SYNC_INTERVAL_SECONDS * 3)
            if not done:
                self._sync_task.cancel()
            self._sync_task = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
