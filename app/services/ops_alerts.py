"""Ops alerts without Prometheus: the worker's snapshot turned into one "firing" and one
"resolved" message per incident, queued in the outbox for every chat sink
(`OPS_NOTIFY_URLS`), so an alert is never lost and never delays a request.

Incidents: CJ unreachable (breaker not closed for OPS_ALERT_CJ_DOWN_MINUTES), orders CJ
refused and orders CJ intercepted (in the last hour), store notifications given up (dead
letters), CJ token trouble (expired, or under 12 h left although it is renewed a day
ahead), CJ API points used up.

No flood: an incident fires once, however long it lasts and however often it is seen;
it resolves only after its condition has been clear for RESOLVE_AFTER (so a flapping CJ
sends one pair, not one per flap), and only if it fired. What was announced is read back
from the outbox itself, under an advisory lock, so restarts and several workers never
announce anything twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.chat_targets import OPS_SINK_PREFIX
from app.db.models import Fulfillment, OutboxMessage
from app.db.repositories.operations import OperationsRepository
from app.services.operations import OpsSnapshot
from app.sinks.ops_alert import (
    OPS_ALERT_EVENT_PREFIX,
    AlertState,
    OpsAlert,
    ops_alert_event,
)

log = structlog.get_logger(__name__)

RESOLVE_AFTER = timedelta(minutes=5)
FAILURE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class RecentOrders:
    """Orders CJ refused (or intercepted) in the window: how many, the latest, its reason."""

    count: int
    latest: Fulfillment | None
    reason: str | None


@dataclass(frozen=True)
class Facts:
    """What the rules read: the snapshot, plus recent refusals and the store's dead letters."""

    snapshot: OpsSnapshot
    refused: RecentOrders
    intercepted: RecentOrders
    dead_letters: dict[str, int]


@dataclass(frozen=True)
class Problem:
    title: str
    text: str


@dataclass(frozen=True)
class Rule:
    incident: str
    severity: str
    hold: timedelta  # how long the condition must last before it fires
    check: Callable[[Facts], Problem | None]
    resolved: Problem


def _cj_unreachable(minutes: float) -> Callable[[Facts], Problem | None]:
    def check(facts: Facts) -> Problem | None:
        breaker = facts.snapshot.breaker
        if breaker == "closed":
            return None
        return Problem(
            "CJ is unreachable",
            f"CJ has not answered for over {minutes:g} minutes (circuit breaker {breaker}). "
            "New orders wait in the queue and are placed when CJ answers again; checkout "
            "shows cached or fallback prices. Check: cj-fulfillment cj ping.",
        )

    return check


def _latest_order(
    verb: str, recent: Callable[[Facts], RecentOrders], advice: str
) -> Callable[[Facts], Problem | None]:
    """A rule on the orders CJ `verb` in the window, naming the latest and CJ's reason."""

    def check(facts: Facts) -> Problem | None:
        orders = recent(facts)
        latest = orders.latest
        if not orders.count or latest is None:
            return None
        reason = (orders.reason or "no reason given").rstrip(".")
        return Problem(
            f"CJ {verb} {orders.count} order(s) in the last hour",
            f"Latest: order {latest.order_id} (fulfillment {latest.external_id}): "
            f"{reason}. {advice}",
        )

    return check


_orders_refused = _latest_order(
    "refused",
    lambda facts: facts.refused,
    "A refused order does not ship until you fix the cause and fulfil it again in "
    "Medusa. All of them: GET /v1/fulfillments?status=failed.",
)
_orders_intercepted = _latest_order(
    "intercepted",
    lambda facts: facts.intercepted,
    "An intercepted order is at CJ but does not ship until you resolve it in MyCJ "
    '(My Orders). All of them: GET /v1/fulfillments, status_reason "CJ intercepted …".',
)


def _dead_letters(facts: Facts) -> Problem | None:
    total = sum(facts.dead_letters.values())
    if not total:
        return None
    sinks = ", ".join(f"{count} to {sink}" for sink, count in sorted(facts.dead_letters.items()))
    return Problem(
        f"{total} store notification(s) given up",
        f"Given up after 3 days of retries: {sinks}. The store does not know about these "
        "shipments or deliveries. See why with cj-fulfillment outbox list --status dead, fix "
        "the cause (URL, key), then cj-fulfillment outbox replay --all-dead.",
    )


def _token_trouble(facts: Facts) -> Problem | None:
    token = facts.snapshot.token
    if token.status == "missing" or not token.near_expiry(facts.snapshot.taken_at):
        return None
    expires = token.access_expires_at
    when = f"expires {expires.isoformat(timespec='minutes')}" if expires else "cannot be read"
    return Problem(
        f"CJ access token {token.status}",
        f"The CJ access token {when} and has not been renewed (it normally is a day ahead). "
        "When it expires, no order reaches CJ. Run cj-fulfillment cj token --refresh; if CJ "
        "refuses, check CJ_API_KEY in MyCJ > Authorization > API.",
    )


def _points_gone(facts: Facts) -> Problem | None:
    until = facts.snapshot.points_exhausted_until
    if until is None:
        return None
    return Problem(
        "CJ API points used up",
        f"CJ's API points for today are gone until {until.isoformat(timespec='minutes')} "
        "(00:00 UTC). Checkout uses cached and fallback prices meanwhile; orders and "
        "tracking are not affected.",
    )


def default_rules(cj_down_minutes: float) -> list[Rule]:
    return [
        Rule(
            "cj_unreachable",
            "critical",
            timedelta(minutes=cj_down_minutes),
            _cj_unreachable(cj_down_minutes),
            Problem("CJ answers again", "CJ is reachable again; queued orders are being placed."),
        ),
        Rule(
            "orders_refused",
            "critical",
            timedelta(0),
            _orders_refused,
            Problem("No order refused by CJ for an hour", "CJ has accepted every order since."),
        ),
        Rule(
            "orders_intercepted",
            "critical",
            timedelta(0),
            _orders_intercepted,
            Problem(
                "No order intercepted by CJ for an hour",
                "CJ has intercepted no new order since; resolve any still held in MyCJ.",
            ),
        ),
        Rule(
            "dead_letters",
            "warning",
            timedelta(0),
            _dead_letters,
            Problem("Store notifications delivered", "No store notification is given up now."),
        ),
        Rule(
            "cj_token",
            "critical",
            timedelta(0),
            _token_trouble,
            Problem("CJ access token renewed", "The CJ access token is valid again."),
        ),
        Rule(
            "cj_points",
            "warning",
            timedelta(0),
            _points_gone,
            Problem("CJ API points available", "CJ answers freight quotes again."),
        ),
    ]


class OpsAlerter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sinks: Sequence[str],
        rules: Sequence[Rule],
        *,
        resolve_after: timedelta = RESOLVE_AFTER,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sinks = list(sinks)
        self._rules = list(rules)
        self._resolve_after = resolve_after
        self._seen_since: dict[str, datetime] = {}
        self._clear_since: dict[str, datetime] = {}
        self._announced: dict[str, AlertState] | None = None

    async def evaluate(self, snapshot: OpsSnapshot, now: datetime | None = None) -> list[OpsAlert]:
        """Queue what changed; the alerts queued (one per incident, for every sink)."""
        if not self._sinks:
            return []
        now = now or datetime.now(UTC)
        facts = await self._facts(snapshot, now)
        wanted: dict[str, tuple[Rule, AlertState, Problem]] = {}
        for rule in self._rules:
            problem = rule.check(facts)
            if problem is not None:
                self._clear_since.pop(rule.incident, None)
                since = self._seen_since.setdefault(rule.incident, now)
                if now - since >= rule.hold:
                    wanted[rule.incident] = (rule, AlertState.firing, problem)
            else:
                self._seen_since.pop(rule.incident, None)
                since = self._clear_since.setdefault(rule.incident, now)
                if now - since >= self._resolve_after:
                    wanted[rule.incident] = (rule, AlertState.resolved, rule.resolved)
        cached = self._announced
        if cached is not None and not any(
            self._change_needed(cached.get(incident), state)
            for incident, (_, state, _) in wanted.items()
        ):
            return []
        return await self._announce(wanted, now)

    @staticmethod
    def _change_needed(announced: AlertState | None, wanted: AlertState) -> bool:
        if wanted is AlertState.firing:
            return announced is not AlertState.firing
        return announced is AlertState.firing

    async def _facts(self, snapshot: OpsSnapshot, now: datetime) -> Facts:
        async with self._sessionmaker() as session:
            operations = OperationsRepository(session)
            since = now - FAILURE_WINDOW
            failed, latest = await operations.recent_failures(since)
            held, held_latest, reasons = await operations.recent_interceptions(since)
            dead = await operations.dead_letters(excluding_prefix=OPS_SINK_PREFIX)
        refused = RecentOrders(failed, latest, latest.status_reason if latest else None)
        intercepted = RecentOrders(held, held_latest, reasons)
        return Facts(snapshot, refused, intercepted, dead)

    async def _announce(
        self, wanted: dict[str, tuple[Rule, AlertState, Problem]], now: datetime
    ) -> list[OpsAlert]:
        queued: list[OpsAlert] = []
        async with self._sessionmaker.begin() as session:
            operations = OperationsRepository(session)
            await operations.lock_alerts()
            announced = {
                incident: AlertState(event_type.rsplit(":", 1)[1])
                for incident, event_type in (
                    await operations.announced_alerts(self._sinks[0], OPS_ALERT_EVENT_PREFIX)
                ).items()
            }
            messages = []
            for incident, (rule, state, problem) in wanted.items():
                if not self._change_needed(announced.get(incident), state):
                    continue
                alert = OpsAlert(
                    id=f"ops_{uuid.uuid4().hex}",
                    incident=incident,
                    state=state,
                    severity=rule.severity,
                    title=problem.title,
                    text=problem.text,
                    timestamp=now,
                )
                queued.append(alert)
                announced[incident] = state
                messages += [
                    OutboxMessage(
                        fulfillment_id=None,
                        sink=sink,
                        event_type=ops_alert_event(incident, state),
                        payload=alert.model_dump(mode="json"),
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                    )
                    for sink in self._sinks
                ]
            if messages:
                await operations.add_alerts(messages)
        self._announced = announced
        for alert in queued:
            log.warning(
                "ops_alert_queued",
                incident=alert.incident,
                state=alert.state.value,
                sinks=len(self._sinks),
            )
        return queued
