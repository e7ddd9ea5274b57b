"""After the load: what the database holds, checked against what was sent and acknowledged.

- lost: a messageId the service answered 200 that is not in `webhook_inbox`. The ack
  promises the message is stored (and applied) in the transaction the answer waited for.
- stored twice: a messageId with more than one inbox row.
- duplicates applied: effects a delivery of an already-applied message made again.
  Applying a message again that changes nothing is harmless and, by design, invisible; the
  check catches every repeat that does change something. It counts, per fulfillment,
  against what its distinct stored messages can explain (every message carries that
  knowledge, see webhook_traffic.py):
  - status changes: forward only, so each status is entered at most once; a second
    `fulfillment_events` row (source `webhook`) to the same status is a change made twice.
  - tracking scans and numbers: exactly the union of those the stored messages carry;
    an entry beyond it is a copy.
  - notifications for the store (outbox): `shipped` and `delivered` at most once each,
    `tracking_updated` at most once per tracking number.
  A second inbox row counts as well: both copies were applied.
- inconsistent: a fulfillment whose state is not what its stored messages make (a final
  status other than the furthest one they claim, that status reached without its event, an
  event no message claims, scans or numbers missing) or a stored message not `applied`.
  That is an effect lost, not a duplicate, and is reported beside them.

Stored, not acknowledged, is what counts for the expectations: a message whose answer
timed out may still have been committed, and then it rightly moved its fulfillment.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import asyncpg

from harness.webhook_traffic import STATUS_ORDER, Message, SeededOrder

ONCE_PER_FULFILLMENT = ("shipped", "delivered")


@dataclass
class Audit:
    acknowledged: int = 0  # distinct messageIds answered 200 at least once
    stored: int = 0  # distinct messageIds of ours in the inbox
    lost: int = 0
    duplicates: Counter[str] = field(default_factory=Counter)  # by kind
    inconsistent: Counter[str] = field(default_factory=Counter)  # by kind

    @property
    def duplicates_applied(self) -> int:
        return sum(self.duplicates.values())

    @property
    def inconsistencies(self) -> int:
        return sum(self.inconsistent.values())


@dataclass
class _Stored:
    """What the database holds about one fulfillment."""

    status: str = "created"
    numbers: int = 0
    scans: int = 0
    events_to: Counter[str] = field(default_factory=Counter)
    notifications: Counter[str] = field(default_factory=Counter)


async def audit(
    dsn: str,
    orders: Sequence[SeededOrder],
    sent: Iterable[tuple[Message, str]],
    ok: str,
) -> Audit:
    """`sent`: every delivery attempted with its outcome; `ok` is the outcome of a 200."""
    messages: dict[str, Message] = {}
    acknowledged: set[str] = set()
    for message, outcome in sent:
        messages[message.message_id] = message
        if outcome == ok:
            acknowledged.add(message.message_id)
    conn = await asyncpg.connect(dsn)
    try:
        inbox = await conn.fetch(
            "SELECT message_id, count(*) AS copies, array_agg(status) AS statuses "
            "FROM webhook_inbox WHERE message_id IS NOT NULL GROUP BY message_id"
        )
        stored = await _stored_fulfillments(conn)
    finally:
        await conn.close()

    result = Audit(acknowledged=len(acknowledged))
    in_inbox = {row["message_id"] for row in inbox}
    result.lost = len(acknowledged - in_inbox)
    ours = [row for row in inbox if row["message_id"] in messages]
    result.stored = len(ours)
    result.duplicates["inbox row stored twice"] = sum(row["copies"] - 1 for row in ours)
    result.inconsistent["stored message not applied"] = sum(
        status != "applied" for row in ours for status in row["statuses"]
    )
    result.inconsistent["inbox message of no delivery"] = len(in_inbox - set(messages))

    committed: dict[str, list[Message]] = defaultdict(list)
    for message_id in in_inbox & set(messages):
        committed[messages[message_id].fulfillment_id].append(messages[message_id])
    for order in orders:
        _check(result, committed[order.fulfillment_id], stored.get(order.fulfillment_id))
    result.duplicates = +result.duplicates
    result.inconsistent = +result.inconsistent
    return result


async def _stored_fulfillments(conn: asyncpg.Connection) -> dict[str, _Stored]:
    stored: dict[str, _Stored] = defaultdict(_Stored)
    for row in await conn.fetch(
        "SELECT id, status, jsonb_array_length(coalesce(tracking, '[]'::jsonb)) AS numbers, "
        "jsonb_array_length(coalesce(tracking_events, '[]'::jsonb)) AS scans FROM fulfillments"
    ):
        entry = stored[row["id"]]
        entry.status, entry.numbers, entry.scans = row["status"], row["numbers"], row["scans"]
    for row in await conn.fetch(
        "SELECT fulfillment_id, to_status, count(*) AS n FROM fulfillment_events "
        "WHERE source = 'webhook' GROUP BY fulfillment_id, to_status"
    ):
        stored[row["fulfillment_id"]].events_to[row["to_status"]] = row["n"]
    for row in await conn.fetch(
        "SELECT fulfillment_id, event_type, count(*) AS n FROM outbox "
        "GROUP BY fulfillment_id, event_type"
    ):
        stored[row["fulfillment_id"]].notifications[row["event_type"]] = row["n"]
    return dict(stored)


def _check(result: Audit, committed: Sequence[Message], stored: _Stored | None) -> None:
    """One fulfillment: its stored state against what its stored messages explain."""
    if stored is None:
        result.inconsistent["fulfillment missing"] += 1
        return
    claims = {message.claims for message in committed}
    furthest = max(claims | {"created"}, key=STATUS_ORDER.index)
    numbers = {message.tracking_number for message in committed if message.tracking_number}
    scans = set().union(*(message.scans for message in committed))

    dup, bad = result.duplicates, result.inconsistent
    dup["status change made twice"] += sum(n - 1 for n in stored.events_to.values())
    dup["tracking number stored twice"] += max(stored.numbers - len(numbers), 0)
    dup["scan stored twice"] += max(stored.scans - len(scans), 0)
    for event in ONCE_PER_FULFILLMENT:
        dup[f"'{event}' notification queued twice"] += max(stored.notifications[event] - 1, 0)
    dup["'tracking_updated' notification queued twice"] += max(
        stored.notifications["tracking_updated"] - len(numbers), 0
    )

    bad["final status not the furthest claimed"] += stored.status != furthest
    bad["furthest status reached without its event"] += (
        furthest != "created" and stored.events_to[furthest] == 0
    )
    bad["status change no message claims"] += sum(
        n for status, n in stored.events_to.items() if status not in claims
    )
    bad["tracking number missing"] += max(len(numbers) - stored.numbers, 0)
    bad["scan missing"] += max(len(scans) - stored.scans, 0)
