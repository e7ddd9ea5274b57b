"""CJ access tokens: persisted, refreshed ahead of expiry, bought at most once per 5 minutes.

getAccessToken (API key → tokens) is allowed once per 5 minutes per account, so the
right to call it is claimed first: in Redis (SET NX with a 5-minute expiry) when there is
one, else by a conditional update in the database. Every process shares the stored
tokens, so one process's refresh serves all.

A token CJ refuses is recorded as expired at that moment (access or refresh), so that no
process sends it again and readiness does not call it valid. After a refused access token
the refresh token is tried first (refreshAccessToken allows 5 calls a minute); only when
CJ refuses that too is a new token bought, as soon as the 5-minute rule allows. Until then
every call fails at once with `TokenUnavailable` (no request spent on a token CJ refused),
and `health()` says `waiting` and until when.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog
from pydantic import SecretStr
from redis.asyncio import Redis

from app.cj.errors import CJAuthError, CJRejected
from app.cj.models import AccessToken
from app.core.metrics import CJ_TOKEN_REFRESHES

log = structlog.get_logger(__name__)

AUTH_CALL_INTERVAL = timedelta(minutes=5)
REFRESH_AHEAD = timedelta(hours=24)


@dataclass(frozen=True)
class TokenState:
    access_token: str | None
    access_expires_at: datetime | None
    refresh_token: str | None
    refresh_expires_at: datetime | None
    open_id: str | None

    def access_valid(self, now: datetime, margin: timedelta = timedelta(0)) -> bool:
        return bool(
            self.access_token and self.access_expires_at and self.access_expires_at - margin > now
        )

    def refresh_valid(self, now: datetime) -> bool:
        return bool(
            self.refresh_token and self.refresh_expires_at and self.refresh_expires_at > now
        )

    def status(self, now: datetime) -> str:
        """valid, refresh_due (inside the refresh-ahead window or only refreshable), expired."""
        if self.access_valid(now, REFRESH_AHEAD):
            return "valid"
        if self.access_valid(now) or self.refresh_valid(now):
            return "refresh_due"
        return "expired"


@dataclass(frozen=True)
class TokenHealth:
    """What the stored token is worth now, without asking CJ.

    `valid`: a usable access token. `refresh_due`: inside the refresh-ahead day, or the
    access token expired (or was refused) while the refresh token still works: the next
    call refreshes it. `missing`: none bought yet, and one may be bought now. `expired`:
    neither token works; the next call buys one. `waiting`: neither works and
    getAccessToken may not be called before `retry_at` (CJ's 5-minute rule).
    """

    status: str
    retry_at: datetime | None = None


class TokenStore(Protocol):
    """Where tokens live (the database, encrypted); implemented by app.db."""

    async def load(self, account: str) -> TokenState | None: ...

    async def save(self, account: str, state: TokenState) -> None: ...

    async def claim_auth_call(self, account: str, interval: timedelta) -> bool:
        """Atomically record a getAccessToken call unless one happened within `interval`."""
        ...

    async def last_auth_call(self, account: str) -> datetime | None:
        """When getAccessToken was last claimed (None: never)."""
        ...


GetAccessToken = Callable[[SecretStr], Awaitable[AccessToken]]
RefreshAccessToken = Callable[[str], Awaitable[AccessToken]]


def account_id(api_key: SecretStr) -> str:
    """A stable, non-secret name for the account the API key belongs to."""
    return hashlib.sha256(api_key.get_secret_value().encode()).hexdigest()[:32]


class TokenUnavailable(CJAuthError):
    """No usable token, and CJ may not be asked for one yet (the 5-minute rule)."""


class TokenManager:
    def __init__(
        self,
        *,
        api_key: SecretStr | None,
        store: TokenStore,
        get_access_token: GetAccessToken,
        refresh_access_token: RefreshAccessToken,
        redis: Redis | None = None,
        open_id_override: SecretStr | None = None,
    ) -> None:
        self._api_key = api_key
        self._account = account_id(api_key) if api_key else "none"
        self._store = store
        self._get_access_token = get_access_token
        self._refresh_access_token = refresh_access_token
        self._redis = redis
        self._open_id_override = open_id_override
        self._cached: TokenState | None = None
        self._open_id: str | None = None
        self._lock = asyncio.Lock()

    @property
    def account(self) -> str:
        return self._account

    async def state(self) -> TokenState | None:
        """The stored state (for status reports); never logged."""
        return await self._store.load(self._account)

    async def health(self) -> TokenHealth:
        """From the store and the getAccessToken claim only: never spends a CJ request."""
        now = datetime.now(UTC)
        state = await self._store.load(self._account)
        if state is not None and (state.access_valid(now) or state.refresh_valid(now)):
            return TokenHealth(state.status(now))
        retry_at = await self.next_auth_call_at()
        if retry_at is not None and retry_at > now:
            return TokenHealth("waiting", retry_at)
        if state is None or (state.access_token is None and state.refresh_token is None):
            return TokenHealth("missing")
        return TokenHealth("expired")

    async def next_auth_call_at(self) -> datetime | None:
        """When getAccessToken may be called again (None or past: now)."""
        if self._redis is not None:
            ttl_ms = await self._redis.pttl(self._auth_claim_key)
            if ttl_ms is None or ttl_ms <= 0:
                return None
            return datetime.now(UTC) + timedelta(milliseconds=ttl_ms)
        last = await self._store.last_auth_call(self._account)
        return last + AUTH_CALL_INTERVAL if last is not None else None

    async def open_id(self) -> str | None:
        """The account's openId: the secret CJ signs webhooks with."""
        if self._open_id_override is not None:
            return self._open_id_override.get_secret_value()
        known = self._cached.open_id if self._cached else None
        if known is None and self._open_id is None:
            # Another process bought the token: keep the openId it stored, or every webhook
            # would read the token store. Until one is stored, every webhook reads again.
            stored = await self._store.load(self._account)
            self._open_id = stored.open_id if stored else None
        return known or self._open_id

    async def access_token(self) -> str:
        now = datetime.now(UTC)
        cached = self._cached
        if cached and cached.access_valid(now, REFRESH_AHEAD):
            assert cached.access_token is not None
            return cached.access_token
        async with self._lock, self._shared_lock():
            state = await self._ensure(force_refresh=False)
        assert state.access_token is not None
        return state.access_token

    async def after_auth_error(self, rejected_token: str) -> str:
        """CJ refused `rejected_token`: use a newer stored one, else refresh (once), else
        buy one when the 5-minute rule allows (TokenUnavailable until then)."""
        async with self._lock, self._shared_lock():
            stored = await self._store.load(self._account)
            now = datetime.now(UTC)
            if stored and stored.access_token != rejected_token and stored.access_valid(now):
                self._cached = stored
                return stored.access_token or ""
            if stored and stored.access_token == rejected_token:
                stored = replace(stored, access_expires_at=now)
                await self._store.save(self._account, stored)
                self._cached = stored
                log.warning("cj_access_token_refused")
            state = await self._ensure(force_refresh=True)
        return state.access_token or ""

    async def refresh_now(self) -> TokenState:
        """Refresh (or buy) the token now, whatever its expiry: the ops CLI's `--refresh`."""
        async with self._lock, self._shared_lock():
            return await self._ensure(force_refresh=True)

    def _shared_lock(self) -> AbstractAsyncContextManager[object]:
        """Serialises refreshes across processes (Redis); one process needs only `_lock`."""
        if self._redis is None:
            return nullcontext()
        return self._redis.lock(f"cj:auth:lock:{self._account}", timeout=30, blocking_timeout=20)

    async def _ensure(self, *, force_refresh: bool) -> TokenState:
        now = datetime.now(UTC)
        state = await self._store.load(self._account)
        if state and not force_refresh and state.access_valid(now, REFRESH_AHEAD):
            self._cached = state
            return state
        if state and state.refresh_valid(now):
            try:
                state = await self._refresh(state)
                self._cached = state
                return state
            except CJRejected as exc:
                log.warning("cj_token_refresh_refused", code=exc.code)
                state = replace(state, refresh_expires_at=now)
                await self._store.save(self._account, state)
                self._cached = state
        if state and not force_refresh and state.access_valid(now):
            # Refresh ahead failed, but the token still works: use it, try again later.
            self._cached = state
            return state
        state = await self._authenticate(state)
        self._cached = state
        return state

    async def _refresh(self, state: TokenState) -> TokenState:
        assert state.refresh_token is not None
        with _counted("refresh"):
            token = await self._refresh_access_token(state.refresh_token)
        refreshed = replace(
            state,
            access_token=token.access_token,
            access_expires_at=token.access_token_expires_at,
            refresh_token=token.refresh_token,
            refresh_expires_at=token.refresh_token_expires_at,
            open_id=token.open_id or state.open_id,
        )
        await self._store.save(self._account, refreshed)
        log.info("cj_token_refreshed", expires_at=refreshed.access_expires_at)
        return refreshed

    async def _authenticate(self, previous: TokenState | None) -> TokenState:
        if self._api_key is None:
            raise TokenUnavailable("CJ_API_KEY is not set")
        if not await self._claim_auth_call():
            retry_at = await self.next_auth_call_at()
            when = f" (allowed again at {retry_at:%H:%M:%S} UTC)" if retry_at else ""
            raise TokenUnavailable(
                f"no valid CJ token, and getAccessToken was called less than 5 minutes ago{when}"
            )
        with _counted("obtain"):
            token = await self._get_access_token(self._api_key)
        state = TokenState(
            access_token=token.access_token,
            access_expires_at=token.access_token_expires_at,
            refresh_token=token.refresh_token,
            refresh_expires_at=token.refresh_token_expires_at,
            open_id=token.open_id or (previous.open_id if previous else None),
        )
        await self._store.save(self._account, state)
        log.info("cj_token_obtained", expires_at=state.access_expires_at)
        return state

    @property
    def _auth_claim_key(self) -> str:
        return f"cj:auth:get_access_token:{self._account}"

    async def _claim_auth_call(self) -> bool:
        if self._redis is not None:
            claimed = await self._redis.set(
                self._auth_claim_key,
                datetime.now(UTC).isoformat(),
                nx=True,
                ex=int(AUTH_CALL_INTERVAL.total_seconds()),
            )
            return bool(claimed)
        return await self._store.claim_auth_call(self._account, AUTH_CALL_INTERVAL)


@contextmanager
def _counted(kind: str) -> Iterator[None]:
    """Count a renewal call by outcome: ok, refused (CJ said no), error (no answer)."""
    try:
        yield
    except CJRejected:
        CJ_TOKEN_REFRESHES.labels(kind=kind, outcome="refused").inc()
        raise
    except Exception:
        CJ_TOKEN_REFRESHES.labels(kind=kind, outcome="error").inc()
        raise
    CJ_TOKEN_REFRESHES.labels(kind=kind, outcome="ok").inc()
