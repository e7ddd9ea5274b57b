"""All mutable simulator state, in process memory (and, with `CJSIM_STATE`, in a file).

One `SimState` backs one simulator process. What CJ itself would remember across a restart
(accounts, tokens, orders, disputes, the balance, the id sequences) is what
`cjsim.snapshot` saves; limit windows, faults, stats and the webhook log are per run.

Handlers are coroutines on one event loop, so a sequence of reads and writes without an
`await` in between is already atomic; `lock` is held around the multi-step changes (create,
pay, dispute) anyway, so that a future `await` inside one of them cannot open a window for
a duplicate order.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from cjsim import products
from cjsim.catalog import Variant
from cjsim.delivery_policy import DeliveryBook
from cjsim.models import Dispute, Order

DAY = 86_400
TOKEN_RATE_WINDOW_S = 300.0
QPS_WINDOW_S = 1.0
REFRESH_TTL_SECONDS = 180 * DAY
WEBHOOK_LOG_SIZE = 500

# Operation names excluded from the per-account QPS count (CJ limits them separately).
QPS_EXEMPT = frozenset({"getAccessToken", "refreshAccessToken"})

_ORDER_ID_BASE = 2_108_231_000_162_905_550
_SHIPMENT_ID_BASE = 2_108_231_000_300_000_000
_LINE_ITEM_BASE = 2_505_170_958_390_976_500
_DISPUTE_ID_BASE = 1_627_572_766_607_937_536


@dataclass
class SimConfig:
    qps: int = 1
    latency_ms: int = 0
    jitter_ms: int = 0
    mode: str = "up"  # up | down | slow
    points_per_day: int = 50_000
    sign_webhooks: bool = True
    balance: Decimal = Decimal("10000.00")
    token_ttl_seconds: int = 15 * DAY
    hang_ms: int = 30_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SimConfig:
        """Defaults, overridden by CJSIM_QPS, CJSIM_LATENCY_MS, CJSIM_JITTER_MS and
        CJSIM_POINTS_PER_DAY so a benchmark can start the simulator preconfigured."""
        source = os.environ if env is None else env
        cfg = cls()
        for var, attr in (
            ("CJSIM_QPS", "qps"),
            ("CJSIM_LATENCY_MS", "latency_ms"),
            ("CJSIM_JITTER_MS", "jitter_ms"),
            ("CJSIM_POINTS_PER_DAY", "points_per_day"),
        ):
            raw = source.get(var)
            if raw:
                setattr(cfg, attr, int(raw))
        return cfg

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Account:
    """One CJ account (one apiKey, one openId): the unit of QPS and points."""

    api_key: str
    open_id: int
    last_token_at: float | None = None
    recent_calls: deque[float] = field(default_factory=deque)
    points_day: date | None = None
    points_used_today: int = 0
    # topic (order, logistics, product, stock) -> callback URLs while ENABLEd
    callbacks: dict[str, list[str]] = field(default_factory=dict)
    # pids whose PRODUCT, VARIANT and STOCK messages the account asked for
    # (webhook/product/subscribe; ORDER and LOGISTIC need no subscription)
    subscriptions: set[str] = field(default_factory=set)


@dataclass
class TokenPair:
    api_key: str
    access_token: str
    access_expires: float
    refresh_token: str
    refresh_expires: float
    created: float


@dataclass
class Catalogue:
    """What changes about CJ's products: stock per variant and warehouse country, and the
    products and variants taken off the shelves. Variants not in `stock` have their
    initial stock (`products.initial_stock`)."""

    stock: dict[str, dict[str, int]] = field(default_factory=dict)
    delisted: set[str] = field(default_factory=set)  # pids and vids

    def stock_of(self, variant: Variant) -> dict[str, int]:
        return dict(self.stock.get(variant.vid) or products.initial_stock(variant))

    def set_stock(self, variant: Variant, country: str, quantity: int) -> int:
        """Set one warehouse's stock; returns the quantity it had."""
        current = self.stock_of(variant)
        before = current.get(country, 0)
        current[country] = quantity
        self.stock[variant.vid] = current
        return before

    def is_delisted(self, product: products.Product, vid: str | None = None) -> bool:
        return product.pid in self.delisted or (vid is not None and vid in self.delisted)


@dataclass
class Fault:
    kind: str  # timeout_after_commit | http_500 | reset | code
    remaining: int
    code: int | None = None

    def public(self) -> dict[str, Any]:
        return {"kind": self.kind, "remaining": self.remaining, "code": self.code}


@dataclass
class Sequences:
    """Counters behind CJ-like ids; kept with the state so ids never repeat after a restart."""

    order: int = 0
    line: int = 0
    track: int = 0
    dispute: int = 0


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    orders_by_number: Counter[str] = field(default_factory=Counter)
    qps_violations: int = 0
    points_used: int = 0
    webhooks_sent: int = 0


def open_id_for(api_key: str) -> int:
    """A stable openId per apiKey (a Long in CJ; kept well under 2^53 here)."""
    digest = int(hashlib.sha256(api_key.encode()).hexdigest(), 16)
    return 1_000_000_000 + digest % 9_000_000_000


def normalise_endpoint(endpoint: str) -> str:
    """`/api2.0/v1/shopping/order/createOrderV2?x=1` and `createOrderV2` name the same thing."""
    path = endpoint.split("?", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1]


class SimState:
    def __init__(
        self,
        defaults: SimConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._defaults = defaults if defaults is not None else SimConfig.from_env()
        self.clock = clock
        self.lock = asyncio.Lock()
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------
    def reset(self) -> None:
        self.config = replace(self._defaults)
        self.accounts: dict[str, Account] = {}
        self.access_tokens: dict[str, TokenPair] = {}
        self.refresh_tokens: dict[str, TokenPair] = {}
        self.orders: dict[str, Order] = {}
        self.orders_by_number: dict[str, Order] = {}
        self.disputes: dict[str, Dispute] = {}
        self.faults: dict[str, deque[Fault]] = {}
        self.stats = Stats()
        self.webhook_log: deque[dict[str, Any]] = deque(maxlen=WEBHOOK_LOG_SIZE)
        self.seq = Sequences()
        self.catalogue = Catalogue()
        self.deliveries = DeliveryBook()

    def now(self) -> float:
        return self.clock()

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    # -- accounts and tokens -------------------------------------------------------------
    def account(self, api_key: str) -> Account:
        acc = self.accounts.get(api_key)
        if acc is None:
            acc = Account(api_key=api_key, open_id=open_id_for(api_key))
            self.accounts[api_key] = acc
        return acc

    def account_by_open_id(self, open_id: int) -> Account | None:
        return next((a for a in self.accounts.values() if a.open_id == open_id), None)

    def issue_tokens(self, acc: Account) -> TokenPair:
        now = self.now()
        pair = TokenPair(
            api_key=acc.api_key,
            access_token=secrets.token_hex(16),
            access_expires=now + self.config.token_ttl_seconds,
            refresh_token=secrets.token_hex(16),
            refresh_expires=now + REFRESH_TTL_SECONDS,
            created=now,
        )
        self.access_tokens[pair.access_token] = pair
        self.refresh_tokens[pair.refresh_token] = pair
        return pair

    def revoke(self, pair: TokenPair) -> None:
        self.access_tokens.pop(pair.access_token, None)
        self.refresh_tokens.pop(pair.refresh_token, None)

    def account_for_access_token(self, token: str) -> tuple[Account, TokenPair] | None:
        pair = self.access_tokens.get(token)
        if pair is None or pair.access_expires <= self.now():
            return None
        return self.account(pair.api_key), pair

    def valid_refresh(self, token: str) -> TokenPair | None:
        pair = self.refresh_tokens.get(token)
        if pair is None or pair.refresh_expires <= self.now():
            return None
        return pair

    # -- limits --------------------------------------------------------------------------
    def admit_call(self, acc: Account) -> bool:
        """Sliding one-second window of admitted calls; False means answer 1600200."""
        now = self.now()
        window = acc.recent_calls
        while window and window[0] <= now - QPS_WINDOW_S:
            window.popleft()
        if len(window) >= max(1, self.config.qps):
            self.stats.qps_violations += 1
            return False
        window.append(now)
        return True

    def charge_points(self, acc: Account, cost: int) -> tuple[bool, int, int]:
        """Spend `cost` points of today's (UTC) budget. Returns (ok, total, used_today)."""
        today = self.utcnow().date()
        if acc.points_day != today:
            acc.points_day = today
            acc.points_used_today = 0
        total = self.config.points_per_day
        if total - acc.points_used_today < cost:
            return False, total, acc.points_used_today
        acc.points_used_today += cost
        self.stats.points_used += cost
        return True, total, acc.points_used_today

    # -- faults --------------------------------------------------------------------------
    def add_fault(self, endpoint: str, fault: Fault) -> None:
        self.faults.setdefault(normalise_endpoint(endpoint), deque()).append(fault)

    def take_fault(self, op: str) -> Fault | None:
        queue = self.faults.get(op)
        while queue:
            fault = queue[0]
            if fault.remaining <= 0:
                queue.popleft()
                continue
            fault.remaining -= 1
            if fault.remaining == 0:
                queue.popleft()
            return fault
        return None

    # -- orders --------------------------------------------------------------------------
    def find_order(self, key: str) -> Order | None:
        """By CJ order id or by the caller's orderNumber (getOrderDetail accepts both)."""
        return self.orders.get(key) or self.orders_by_number.get(key)

    def find_by_shipment(self, shipment_order_id: str) -> list[Order]:
        return [o for o in self.orders.values() if o.shipment_order_id == shipment_order_id]

    def next_order_ids(self) -> tuple[str, str]:
        """CJ-like ids: 19-digit numeric strings above 2^53, unique and deterministic."""
        self.seq.order += 1
        return (
            str(_ORDER_ID_BASE + self.seq.order),
            str(_SHIPMENT_ID_BASE + self.seq.order),
        )

    def next_line_item_id(self) -> str:
        self.seq.line += 1
        return str(_LINE_ITEM_BASE + self.seq.line)

    def next_track_seq(self) -> int:
        self.seq.track += 1
        return 7_160_102_000 + self.seq.track

    def next_dispute_id(self) -> str:
        self.seq.dispute += 1
        return str(_DISPUTE_ID_BASE + self.seq.dispute)

    def add_order(self, order: Order) -> None:
        self.orders[order.cj_id] = order
        self.orders_by_number[order.order_number] = order
        self.stats.orders_by_number[order.order_number] += 1

    def stats_public(self) -> dict[str, Any]:
        return {
            "calls": dict(self.stats.calls),
            "orders": len(self.orders),
            "orders_by_number": dict(self.stats.orders_by_number),
            "qps_violations": self.stats.qps_violations,
            "points_used": self.stats.points_used,
            "webhooks_sent": self.stats.webhooks_sent,
        }
