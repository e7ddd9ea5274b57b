"""One CJ HTTP exchange: slot, breaker, request, envelope. No retries, no tokens here."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from redis.asyncio import Redis

from app.cj.breaker import CJBreaker
from app.cj.envelope import PointsInfo, next_utc_midnight, points_info, unwrap
from app.cj.errors import (
    CJAmbiguous,
    CJError,
    CJPointsExhausted,
    CJThrottled,
    CJTimeout,
    CJTransportError,
    CJUpstreamError,
)
from app.cj.models import Priority
from app.cj.ratelimit import RateLimiter
from app.core.metrics import (
    CJ_CALL_LATENCY,
    CJ_CALLS,
    CJ_POINTS_EXHAUSTED,
    CJ_POINTS_REMAINING,
    CJ_POINTS_TOTAL,
)

log = structlog.get_logger(__name__)

# Raised before the request left us: nothing can have happened at CJ.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
POINTS_KEY = "cj:points_exhausted_until"
POINTS_INFO_KEY = "cj:points_info"


def operation_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


class PointsGate:
    """Remembers (shared through Redis when there is one) that CJ's points are gone, and
    the last `pointsInfo` CJ sent (for the gauges and `cj-fulfillment status`).

    Another process's news that the points are gone is read from Redis at most every
    RECHECK_SECONDS (as the breaker adopts another's state), not on every call."""

    RECHECK_SECONDS = 1.0

    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis
        self._until: datetime | None = None
        self._info: PointsInfo | None = None
        self._read_at = -self.RECHECK_SECONDS  # monotonic time of the last Redis read
        CJ_POINTS_EXHAUSTED.set(0)

    async def check(self) -> None:
        until = await self.exhausted_until()
        if until is not None:
            raise CJPointsExhausted("CJ API points exhausted", until=until)

    async def exhausted_until(self) -> datetime | None:
        """When the points come back, while they are gone (None otherwise)."""
        until = self._until
        due = time.monotonic() - self._read_at >= self.RECHECK_SECONDS
        if until is None and self._redis is not None and due:
            self._read_at = time.monotonic()
            raw = await self._redis.get(POINTS_KEY)
            if raw is not None:
                until = datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw)
                self._until = until
        if until is not None and until > datetime.now(UTC):
            CJ_POINTS_EXHAUSTED.set(1)
            return until
        self._until = None
        CJ_POINTS_EXHAUSTED.set(0)
        return None

    async def exhausted(self, until: datetime) -> None:
        self._until = until
        CJ_POINTS_EXHAUSTED.set(1)
        if self._redis is not None:
            seconds = max(int((until - datetime.now(UTC)).total_seconds()), 1)
            await self._redis.set(POINTS_KEY, until.isoformat(), ex=seconds)

    async def observe(self, info: PointsInfo) -> None:
        self._info = info
        CJ_POINTS_REMAINING.set(info.remaining)
        CJ_POINTS_TOTAL.set(info.total)
        if self._redis is not None:
            # Until CJ's daily reset, when the figures stop being true.
            seconds = max(int((next_utc_midnight() - datetime.now(UTC)).total_seconds()), 1)
            await self._redis.set(POINTS_INFO_KEY, info.to_json(), ex=seconds)

    async def last_info(self) -> PointsInfo | None:
        """The last `pointsInfo` any process saw today (this process's without Redis)."""
        if self._redis is not None:
            raw = await self._redis.get(POINTS_INFO_KEY)
            return PointsInfo.from_json(raw) if raw is not None else None
        return self._info


class LatencyEstimate:
    """How long a CJ operation takes to answer, learned from the calls that succeeded:
    a smoothed mean plus twice the smoothed deviation (as TCP estimates its retransmission
    timeout), so most answers come within it."""

    GAIN = 0.125
    DEVIATION_GAIN = 0.25

    def __init__(self) -> None:
        self._mean: dict[str, float] = {}
        self._deviation: dict[str, float] = {}

    def observe(self, operation: str, seconds: float) -> None:
        mean = self._mean.get(operation)
        if mean is None:
            self._mean[operation], self._deviation[operation] = seconds, seconds / 2
            return
        deviation = self._deviation[operation]
        self._deviation[operation] = deviation + self.DEVIATION_GAIN * (
            abs(seconds - mean) - deviation
        )
        self._mean[operation] = mean + self.GAIN * (seconds - mean)

    def likely_within(self, operation: str) -> float:
        """Seconds within which `operation` usually answers (0 until one was seen)."""
        return self._mean.get(operation, 0.0) + 2 * self._deviation.get(operation, 0.0)

    def fastest_within(self, operation: str) -> float:
        """Seconds within which `operation`'s quickest answers come (0 until one was seen):
        a call that leaves later than this before a deadline has no chance to make it."""
        return max(self._mean.get(operation, 0.0) - 2 * self._deviation.get(operation, 0.0), 0.0)


class CJTransport:
    def __init__(
        self,
        *,
        base_url: str,
        timeout_seconds: float,
        limiter: RateLimiter,
        breaker: CJBreaker,
        redis: Redis | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._limiter = limiter
        self.breaker = breaker
        self.points = PointsGate(redis)
        self.latency = LatencyEstimate()
        # Requests this process has sent to CJ (what long commands report as spent).
        self.requests_sent = 0
        self._http = http or httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            headers={"Content-Type": "application/json", "User-Agent": "cj-fulfillment/0.1"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        priority: Priority,
        deadline: float,
        json: Any = None,
        params: Any = None,
        costs_points: bool = False,
        ambiguous_on_failure: bool = False,
        slot_deadline: float | None = None,
        fail_fast: bool = False,
    ) -> Any:
        """`slot_deadline` (monotonic) stops the wait for a rate-limit slot early: a caller
        that no longer waits for the answer (a cache refresh) gives up its place in the queue,
        yet a call already sent may still run until `deadline`. `fail_fast` gives up at once
        when the queue is already too long for that (see RateLimiter.acquire)."""
        operation = operation_name(path)
        if costs_points:
            await self.points.check()
        self.breaker.check()
        asked = time.monotonic()
        await self._limiter.acquire(
            priority,
            deadline if slot_deadline is None else min(slot_deadline, deadline),
            fail_fast=fail_fast,
        )
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            raise CJThrottled("the deadline passed while waiting for a CJ slot")
        attempt_timeout = min(self._timeout, remaining)
        headers = {"CJ-Access-Token": token} if token else {}
        started = time.monotonic()
        self.requests_sent += 1
        outcome = "ok"
        request_id: str | None = None
        try:
            async with self.breaker.guard():
                response = await self._exchange(
                    method, path, headers, json, params, attempt_timeout, ambiguous_on_failure
                )
                info = points_info(response)
                if info is not None:
                    await self.points.observe(info)
                try:
                    data, request_id = unwrap(response)
                except CJUpstreamError as exc:
                    if ambiguous_on_failure:
                        raise CJAmbiguous(str(exc), request_id=exc.request_id) from exc
                    raise
            return data
        except CJPointsExhausted as exc:
            outcome = type(exc).__name__
            await self.points.exhausted(exc.until)
            raise
        except CJError as exc:
            outcome = type(exc).__name__
            request_id = exc.request_id
            raise
        finally:
            elapsed = time.monotonic() - started
            if outcome == "ok":
                self.latency.observe(operation, elapsed)
            CJ_CALLS.labels(operation=operation, outcome=outcome).inc()
            CJ_CALL_LATENCY.labels(operation=operation).observe(elapsed)
            log.info(
                "cj_call",
                operation=operation,
                outcome=outcome,
                cj_request_id=request_id,
                duration_ms=round(elapsed * 1000, 1),
                slot_wait_ms=round((started - asked) * 1000, 1),
                priority=priority.name,
            )

    async def refuse_fast(
        self, slot_deadline: float, priority: Priority = Priority.checkout
    ) -> None:
        """Raise now what a fail-fast, point-costing `send` of `priority` with this slot
        deadline would raise before sending, as far as this process knows (points gone,
        breaker open, no slot in time); return when it cannot tell without asking."""
        await self.points.check()
        self.breaker.check()
        if self._limiter.refuses_at_once(slot_deadline, priority):
            raise CJThrottled("CJ's request queue is longer than the deadline")

    async def _exchange(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        json: Any,
        params: Any,
        timeout: float,
        ambiguous_on_failure: bool,
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method,
                path.lstrip("/"),
                headers=headers,
                json=json,
                params=params,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            )
        except _NOT_SENT as exc:
            error_type = CJTimeout if isinstance(exc, httpx.TimeoutException) else CJTransportError
            raise error_type(f"could not reach CJ: {type(exc).__name__}") from exc
        except httpx.TimeoutException as exc:
            if ambiguous_on_failure:
                raise CJAmbiguous(f"no answer from CJ in {timeout:.1f}s") from exc
            raise CJTimeout(f"no answer from CJ in {timeout:.1f}s") from exc
        except httpx.TransportError as exc:
            if ambiguous_on_failure:
                raise CJAmbiguous(f"connection to CJ failed: {type(exc).__name__}") from exc
            raise CJTransportError(f"connection to CJ failed: {type(exc).__name__}") from exc
