"""The simulator state that outlives a restart, as JSON: what CJ itself would remember.

Saved: the accounts (openId, the last getAccessToken call, today's points, callbacks,
product subscriptions), the token pairs still usable, the orders, the disputes, the
balance, the id sequences and the catalogue's changes (stock, delisted products).
Not saved: QPS windows, queued faults, stats, the webhook log and the configuration other
than the balance (a restart starts from the CJSIM_* defaults, as `/_sim/reset` does).

Money and dates keep their types through tagged values (`{"$decimal": "12.30"}`,
`{"$datetime": ...}`, `{"$date": ...}`), so a restored order renders exactly as before.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cjsim.models import Dispute, Order, OrderItem
from cjsim.state import Account, Catalogue, Sequences, SimState, TokenPair

VERSION = 1


class SnapshotError(ValueError):
    """A saved state this simulator cannot read (another version, or not its format)."""


def encode(value: Any) -> Any:
    """`json.dumps(default=encode)`: the types JSON has no word for."""
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot save a {type(value).__name__}")


def decode(obj: dict[str, Any]) -> Any:
    """`json.loads(object_hook=decode)`: the inverse of `encode`."""
    if len(obj) == 1:
        ((key, raw),) = obj.items()
        if key == "$decimal":
            return Decimal(raw)
        if key == "$datetime":
            return datetime.fromisoformat(raw)
        if key == "$date":
            return date.fromisoformat(raw)
    return obj


def dump(state: SimState) -> dict[str, Any]:
    now = state.now()
    known = (*state.access_tokens.values(), *state.refresh_tokens.values())
    pairs = {p.refresh_token: p for p in known}
    usable = [p for p in pairs.values() if max(p.access_expires, p.refresh_expires) > now]
    return {
        "version": VERSION,
        "balance": state.config.balance,
        "sequences": asdict(state.seq),
        "accounts": [
            {
                "api_key": a.api_key,
                "open_id": a.open_id,
                "last_token_at": a.last_token_at,
                "points_day": a.points_day,
                "points_used_today": a.points_used_today,
                "callbacks": a.callbacks,
                "subscriptions": sorted(a.subscriptions),
            }
            for a in state.accounts.values()
        ],
        "tokens": [asdict(p) for p in usable],
        "orders": [asdict(o) for o in state.orders.values()],
        "disputes": [asdict(d) for d in state.disputes.values()],
        "catalogue": {
            "stock": state.catalogue.stock,
            "delisted": sorted(state.catalogue.delisted),
        },
    }


def restore(state: SimState, data: dict[str, Any]) -> None:
    """Replace `state`'s remembered part with `data` (as `dump` made it)."""
    if data.get("version") != VERSION:
        raise SnapshotError(f"state version {data.get('version')!r}, expected {VERSION}")
    try:
        accounts = {
            a["api_key"]: Account(
                **{**a, "subscriptions": set(a.get("subscriptions", []))}, recent_calls=deque()
            )
            for a in data["accounts"]
        }
        changes = data.get("catalogue", {})
        catalogue = Catalogue(
            stock={vid: dict(stock) for vid, stock in changes.get("stock", {}).items()},
            delisted=set(changes.get("delisted", [])),
        )
        pairs = [TokenPair(**p) for p in data["tokens"]]
        orders = [
            Order(**{**o, "items": [OrderItem(**i) for i in o["items"]]}) for o in data["orders"]
        ]
        disputes = [Dispute(**d) for d in data["disputes"]]
        sequences = Sequences(**data["sequences"])
        balance = Decimal(data["balance"])
    except (KeyError, TypeError) as exc:
        raise SnapshotError(f"not a cjsim state ({exc})") from exc
    state.reset()
    state.config.balance = balance
    state.seq = sequences
    state.accounts = accounts
    for pair in pairs:
        state.access_tokens[pair.access_token] = pair
        state.refresh_tokens[pair.refresh_token] = pair
    for order in orders:
        state.orders[order.cj_id] = order
        state.orders_by_number[order.order_number] = order
    state.disputes = {d.dispute_id: d for d in disputes}
    state.catalogue = catalogue
