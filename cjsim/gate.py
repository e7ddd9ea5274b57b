"""The gate every CJ API call passes before a handler runs.

A pure ASGI middleware, because some behaviours cannot be expressed as a normal response:
holding an already computed answer past the client's timeout, or dropping the connection
half-way. In order, per call to `/api2.0/v1/...` (the operation is the last path segment):

1. count the call (`/_sim/stats` calls), even when it is then rejected;
2. mode `down`: HTTP 503 with a small HTML page, no work;
3. auth (`CJ-Access-Token`; missing 1600002, unknown or expired 1600001);
4. the account's QPS window (1600200, no `result`, counted in `qps_violations`), at the
   moment the call arrives, as CJ's gateway counts it;
5. latency (`latency_ms` ± `jitter_ms`, +4000 ms in mode `slow`): CJ's time to answer;
6. an injected fault for this operation, if one is queued;
7. the daily points budget (HTTP 429) for operations that cost points;
8. the handler (for `timeout_after_commit`: the handler, then `hang_ms`, then the answer).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cjsim import envelope
from cjsim.state import QPS_EXEMPT, Account, SimState, TokenPair, normalise_endpoint

API_PREFIX = "/api2.0/v1/"
NO_AUTH = frozenset({"getAccessToken", "refreshAccessToken"})
# CJ's points page: freight, product, variant and stock queries, product subscriptions.
POINT_COSTS = {
    "freightCalculate": 10,
    "freightCalculateTip": 10,
    "query": 10,  # product/query and product/variant/query
    "queryByVid": 10,  # product/variant/queryByVid and product/stock/queryByVid
    "getInventoryByPid": 10,
    "subscribe": 10,
    "unsubscribe": 10,
}
SLOW_EXTRA_MS = 4000
ACCOUNT_KEY = "cjsim.account"
TOKEN_KEY = "cjsim.token"

_DOWN_PAGE = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head>"
    "<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)


class SimulatedConnectionReset(httpx.RemoteProtocolError):
    """Raised to drop the connection after a partial response.

    Behind a real server (uvicorn) the connection is closed mid-body, so the client sees a
    transport error (httpx.RemoteProtocolError). In-process, httpx.ASGITransport re-raises
    this exception, which is itself an httpx.RemoteProtocolError, so clients see the same type.
    """

    def __init__(self) -> None:
        super().__init__("cjsim: simulated connection reset")


def request_account(scope: Scope) -> Account:
    account: Account = scope[ACCOUNT_KEY]
    return account


def request_token(scope: Scope) -> TokenPair:
    pair: TokenPair = scope[TOKEN_KEY]
    return pair


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            text: str = value.decode("latin-1").strip()
            return text
    return None


class ApiGate:
    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        op = normalise_endpoint(scope["path"])
        state.stats.calls[op] += 1

        if state.config.mode == "down":
            await HTMLResponse(_DOWN_PAGE, status_code=503)(scope, receive, send)
            return

        account: Account | None = None
        if op not in NO_AUTH:
            token = _header(scope, b"cj-access-token")
            if not token:
                await envelope.fail(envelope.TOKEN_EMPTY)(scope, receive, send)
                return
            found = state.account_for_access_token(token)
            if found is None:
                await envelope.fail(envelope.TOKEN_INVALID)(scope, receive, send)
                return
            account, pair = found
            scope[ACCOUNT_KEY] = account
            scope[TOKEN_KEY] = pair
            if op not in QPS_EXEMPT and not state.admit_call(account):
                await envelope.qps_exceeded()(scope, receive, send)
                return
        await self._sleep_latency()

        fault = state.take_fault(op)
        if fault is not None and fault.kind == "http_500":
            body = {
                "timestamp": datetime.now(tz=UTC).isoformat(timespec="milliseconds"),
                "status": 500,
                "error": "Internal Server Error",
                "path": scope["path"],
            }
            await envelope.json_response(body, status_code=500)(scope, receive, send)
            return
        if fault is not None and fault.kind == "code":
            code = fault.code if fault.code is not None else envelope.SYSTEM_BUSY
            await envelope.fail(code)(scope, receive, send)
            return
        if fault is not None and fault.kind == "reset":
            await self._drop_connection(send)
            return

        cost = POINT_COSTS.get(op, 0)
        if cost and account is not None:
            allowed, total, used = state.charge_points(account, cost)
            if not allowed:
                await envelope.points_exhausted(total, used, cost)(scope, receive, send)
                return

        if fault is not None and fault.kind == "timeout_after_commit":
            await self._commit_then_hang(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _sleep_latency(self) -> None:
        cfg = self.state.config
        delay_ms: float = cfg.latency_ms
        if cfg.jitter_ms:
            delay_ms += random.uniform(-cfg.jitter_ms, cfg.jitter_ms)
        if cfg.mode == "slow":
            delay_ms += SLOW_EXTRA_MS
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)

    async def _commit_then_hang(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Do the work (the order is stored), then hold the answer for `hang_ms`."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(self.state.config.hang_ms / 1000)
        for message in held:
            await send(message)

    @staticmethod
    async def _drop_connection(send: Send) -> None:
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", b"4096"),
        ]
        start: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": b'{"code":200,"re', "more_body": True})
        raise SimulatedConnectionReset()
