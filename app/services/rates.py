"""Shipping prices at checkout: live from CJ when it answers in time, never blocked by it.

Per ship-from country, one freight quote covers every option (one CJ call, shared by
identical concurrent requests in every process, cached for RATES_TTL). When CJ cannot
answer within RATES_BUDGET_MS (slow, breaker open, no QPS slot, points gone), the price
comes from the last quote (stale, up to RATES_STALE_TTL) or the option's static table.
When CJ's queue is already too long for the budget, that answer comes at once, without
waiting, and the cart goes on the warmer's list: a background task spends CJ's free
requests on the most asked-for missing quotes. While that list holds more carts than CJ
quotes in a few seconds, CJ's requests are all spoken for: a checkout missing its quote
does not ask CJ, nor wait for a call in flight, but answers from the fallback at once and
adds its cart to the list (the carts most asked for are quoted first, as they should be).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal, get_args

import structlog

from app.cj.client import CJClient
from app.cj.errors import CJError, CJRejected, CJThrottled, CJVariantNotFound
from app.cj.models import FreightProduct, FreightRequest, Priority
from app.cj.ratelimit import interval_seconds
from app.core.config import Settings
from app.core.errors import Unprocessable
from app.core.metrics import (
    RATES_ANSWERS,
    RATES_BUDGET_OVERRUNS,
    RATES_CJ_CALLS_SAVED,
    RATES_DEFERRED,
    RATES_WARMED,
)
from app.services.money import ExchangeRates, minor_unit, round_for
from app.services.options import DestinationNotServed, FulfillmentOption, OptionsCatalog
from app.services.quote_cache import FreightKey, QuotedLogistic, QuoteSet, QuoteStore
from app.services.quote_demand import QuoteDemand
from app.services.quote_flights import QuoteFlights, stop_task
from app.services.skus import ItemRef, ResolvedItem, VariantResolver
from app.services.stock import OutOfStock, StockGuard, shortfalls_of

log = structlog.get_logger(__name__)
# Why a checkout got its fallback at once is logged at INFO only (a busy store's deferred
# answers are most of them: below INFO not even the event is built), as the access line is.
_stdlib_log = logging.getLogger(__name__)

Source = Literal["live", "cache", "stale", "static"]
# A stale or static price is worth asking again for soon: CJ may be back.
FALLBACK_VALIDITY = timedelta(seconds=60)
# Kept back from the budget to build the answer once the wait for CJ is over.
ANSWER_RESERVE_SECONDS = 0.05
WARMER_IDLE_SECONDS = 0.2
# Past one CJ interval, how long the warmer waits in CJ's queue for a request: it is there
# whenever a request is free, and a checkout (ahead of it) seldom finds it in the way.
WARMER_SLOT_MARGIN_SECONDS = 0.25
# Wanted carts beyond which checkouts leave CJ's requests to the warmer: about five seconds
# of CJ's requests at 1/s. A store's few checkouts a second stay under it, and ask CJ.
BACKLOG_CARTS = 4
WARMER_BACKOFF_SECONDS = 1.0
STOP_GRACE_SECONDS = 2.0
_ANSWERS = {source: RATES_ANSWERS.labels(source=source) for source in get_args(Source)}


class CannotShip(Unprocessable):
    """CJ answered, and none of the option's logistics can carry this cart on this route."""

    type_slug = "cannot-ship"
    description = "`cannot-ship`: CJ offers none of the option's logistics for this cart"

    def __init__(self, option: FulfillmentOption, offered: Sequence[str]) -> None:
        offer = ", ".join(offered) or "nothing"
        super().__init__(
            f"Option {option.id!r} cannot ship this cart: CJ offers none of its logistics "
            f"({', '.join(option.logistics)}) for it; CJ offers {offer}.",
            extra={"option_id": option.id},
        )


class UnknownVariant(Unprocessable):
    type_slug = "unknown-variant"
    description = "`unknown-variant`: CJ does not know a variant of the cart"

    def __init__(self, cj_message: str) -> None:
        super().__init__(
            f"CJ does not know a variant of this cart ({cj_message}); check the SKU mappings.",
        )


@dataclass(frozen=True)
class RateQuery:
    option_id: str | None
    country_code: str
    zip: str | None
    items: Sequence[ItemRef]
    currency: str


@dataclass(frozen=True)
class PricedRate:
    option_id: str
    amount: Decimal
    currency: str
    source: Source
    logistic_name: str
    eta_days: tuple[int, int]
    expires_at: datetime


@dataclass(frozen=True)
class _Lookup:
    """Quotes for one origin and where they came from; no quotes means static prices."""

    quotes: QuoteSet | None
    source: Source


class RateService:
    def __init__(
        self,
        *,
        settings: Settings,
        options: OptionsCatalog,
        variants: VariantResolver,
        stock: StockGuard,
        cj: CJClient,
        store: QuoteStore,
        flights: QuoteFlights,
        demand: QuoteDemand,
    ) -> None:
        self._options = options
        self._variants = variants
        self._stock = stock
        self._cj = cj
        self._store = store
        self._flights = flights
        self._demand = demand
        self._warmer: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._exchange = ExchangeRates(options.exchange_rates)
        self._ttl = timedelta(seconds=settings.rates_ttl)
        self._stale_ttl = timedelta(seconds=settings.rates_stale_ttl)
        self._budget = settings.rates_budget_ms / 1000
        self._call_timeout = settings.cj_timeout_seconds
        self._cache_enabled = settings.rates_cache_enabled
        self._warmer_slot_wait = interval_seconds(settings.cj_qps) + WARMER_SLOT_MARGIN_SECONDS

    async def quote(self, query: RateQuery) -> list[PricedRate]:
        started = time.monotonic()
        deadline = started + self._budget
        currency = self._exchange.require(query.currency)
        country = query.country_code.upper()
        options = self._options_for(query.option_id, country)
        items = await self._variants.resolve(query.items)
        options = await self._in_stock(options, items)
        lines = [(item.vid, item.quantity) for item in items]
        quantity = sum(item.quantity for item in items)

        origins = sorted({option.from_country for option in options if not option.free})
        lookups = [
            self._lookup(FreightKey.of(origin, country, query.zip, lines), deadline)
            for origin in origins
        ]
        # One origin (the usual case) is awaited as it is: gather would make it a task.
        found = [await lookups[0]] if len(lookups) == 1 else await asyncio.gather(*lookups)
        by_origin = dict(zip(origins, found, strict=True))
        now = datetime.now(UTC)
        rates: list[PricedRate] = []
        for option in options:
            rate = self._price(option, by_origin.get(option.from_country), country, quantity, now)
            if rate is None:
                if query.option_id is not None:
                    lookup = by_origin[option.from_country]
                    offered = [q.name for q in lookup.quotes.logistics] if lookup.quotes else []
                    raise CannotShip(option, offered)
                continue
            rates.append(self._in_currency(rate, option, currency))
        if not rates:
            raise DestinationNotServed(
                f"No option can ship this cart to {country}: CJ offers none of their logistics.",
                country,
            )
        for rate in rates:
            _ANSWERS[rate.source].inc()
        return rates

    async def _in_stock(
        self, options: list[FulfillmentOption], items: Sequence[ResolvedItem]
    ) -> list[FulfillmentOption]:
        """The options whose warehouse country can ship the cart by the stock we know
        (an option left out says nothing); when none can (also the one option asked
        for): 422 `out-of-stock`, naming each item and warehouse."""
        known = await self._stock.availability([item.vid for item in items])
        short = {o.id: shortfalls_of(items, o.from_country, known) for o in options}
        kept = [o for o in options if not short[o.id]]
        if not kept:
            unique = {(s.vid, s.country): s for o in options for s in short[o.id]}
            raise OutOfStock(list(unique.values()))
        return kept

    def _options_for(self, option_id: str | None, country: str) -> list[FulfillmentOption]:
        if option_id is not None:
            return [self._options.require_serving(option_id, country)]
        serving = self._options.serving(country)
        if not serving:
            served = sorted({c for o in self._options.options for c in o.destinations})
            raise DestinationNotServed(
                f"No option ships to {country}; the options serve {', '.join(served)}.", country
            )
        return serving

    async def _lookup(self, key: FreightKey, deadline: float) -> _Lookup:
        cached = await self._store.get(key) if self._cache_enabled else None
        if cached is not None and cached.is_fresh(self._ttl, datetime.now(UTC)):
            RATES_CJ_CALLS_SAVED.inc()
            return _Lookup(cached, "cache")
        if self._cache_enabled and self._demand.backlog() >= BACKLOG_CARTS:
            return await self._defer(key, cached)
        remaining = deadline - ANSWER_RESERVE_SECONDS - time.monotonic()
        try:
            if not self._cache_enabled:
                quotes = await asyncio.wait_for(self._fetch(key, deadline), max(remaining, 0))
                return _Lookup(quotes, "live")
            if not self._flights.in_flight(key):
                await self._refuse_fast(key, deadline)
            task, joined = self._flights.join(
                key,
                lambda: self._fetch(key, deadline),
                newer_than=cached.fetched_at if cached else None,
                wait_until=deadline,
                before_lock=lambda: self._refuse_fast(key, deadline),
            )
            flight = await asyncio.wait_for(asyncio.shield(task), max(remaining, 0))
        except TimeoutError:
            RATES_BUDGET_OVERRUNS.inc()
            log.info("rates_budget_expired", budget_ms=round(self._budget * 1000))
            return self._fallback(cached)
        except CJThrottled:
            # CJ's queue would answer too late: answer now (the fetch has put the cart on
            # the warmer's list).
            RATES_DEFERRED.inc()
            if _stdlib_log.isEnabledFor(logging.INFO):
                log.info("rates_deferred", reason="no_slot_in_time")
            return self._fallback(cached)
        except CJVariantNotFound as exc:
            raise UnknownVariant(exc.message) from exc
        except CJError as exc:
            log.info("rates_cj_unavailable", error=type(exc).__name__, cj_code=exc.code)
            return self._fallback(cached)
        if joined or not flight.called_cj:
            RATES_CJ_CALLS_SAVED.inc()
        return _Lookup(flight.quotes, "live")

    async def _defer(self, key: FreightKey, cached: QuoteSet | None) -> _Lookup:
        """CJ's requests go to the carts most asked for: this checkout is answered from
        the fallback now, and its cart counted (unless it is being fetched already)."""
        RATES_DEFERRED.inc()
        if _stdlib_log.isEnabledFor(logging.INFO):
            log.info("rates_deferred", reason="backlog", backlog=self._demand.backlog())
        if not self._flights.in_flight(key):
            await self._demand.want(key)
        return self._fallback(cached)

    def _checkout_slot_deadline(self, deadline: float) -> float:
        """The last moment a checkout's CJ call may leave and CJ's quickest answers still
        arrive by the deadline. A slower answer comes after it, and fills the cache for the
        next view of the cart (as the warmer would have, with the same request)."""
        return deadline - self._cj.transport.latency.fastest_within("freightCalculate")

    async def _refuse_fast(self, key: FreightKey, deadline: float) -> None:
        """Meet the refusal the fetch would meet before calling CJ (points gone, breaker
        open, no CJ request in time) when this process already knows it, without taking
        the flight's lock; CJThrottled puts the cart on the warmer's list, as there."""
        try:
            await self._cj.transport.refuse_fast(self._checkout_slot_deadline(deadline))
        except CJThrottled:
            await self._demand.want(key)
            raise

    async def _fetch(
        self, key: FreightKey, slot_deadline: float, priority: Priority = Priority.checkout
    ) -> QuoteSet:
        """One CJ freight call. It may outlive the request that started it (the answer still
        fills the cache), but gives up its place in the CJ queue at the request's deadline."""
        request = FreightRequest(
            start_country_code=key.origin,
            end_country_code=key.destination,
            zip=key.zip,
            products=[FreightProduct(vid=vid, quantity=qty) for vid, qty in key.lines],
        )
        if priority is Priority.checkout and self._cache_enabled:
            slot_deadline = self._checkout_slot_deadline(slot_deadline)
        try:
            quotes = await self._cj.freight_calculate(
                request,
                priority=priority,
                deadline=time.monotonic() + self._call_timeout,
                slot_deadline=slot_deadline,
                # Never queue for a slot that comes too late: checkouts (and warm fetches
                # they may join) stay fast. The cache-less mode waits, as a naive client.
                fail_fast=self._cache_enabled,
            )
        except CJThrottled:
            # No CJ request in time: the warmer fetches the most asked-for of these carts
            # whenever CJ has a request to spare (it puts back the carts it took itself).
            if priority is Priority.checkout:
                await self._demand.want(key)
            raise
        entry = QuoteSet.from_cj(quotes, datetime.now(UTC))
        if self._cache_enabled:
            await self._store.put(key, entry)
        return entry

    def _fallback(self, cached: QuoteSet | None) -> _Lookup:
        if cached is not None and datetime.now(UTC) - cached.fetched_at < self._stale_ttl:
            return _Lookup(cached, "stale")
        return _Lookup(None, "static")

    def _price(
        self,
        option: FulfillmentOption,
        lookup: _Lookup | None,
        country: str,
        quantity: int,
        now: datetime,
    ) -> PricedRate | None:
        """The option's price in its own currency; None when CJ says it cannot ship."""
        eta = (option.eta_days.min, option.eta_days.max)
        if option.free:
            return PricedRate(
                option.id, Decimal(0), option.currency, "static", option.logistics[0], eta,
                now + FALLBACK_VALIDITY,
            )  # fmt: skip
        assert lookup is not None
        logistic = _first_offered(option, lookup.quotes)
        if logistic is None and lookup.source in ("live", "cache"):
            return None
        if logistic is None or lookup.quotes is None:
            static = option.static_rates[country].price(quantity)
            return PricedRate(
                option.id, static, option.currency, "static", option.logistics[0], eta,
                now + FALLBACK_VALIDITY,
            )  # fmt: skip
        in_option_currency = self._exchange.convert(logistic.price, "USD", option.currency)
        expires = (
            lookup.quotes.fetched_at + self._ttl
            if lookup.source != "stale"
            else now + FALLBACK_VALIDITY
        )
        return PricedRate(
            option.id,
            option.markup.apply(in_option_currency),
            option.currency,
            lookup.source,
            logistic.name,
            logistic.eta_days or eta,
            expires,
        )

    def _in_currency(
        self, rate: PricedRate, option: FulfillmentOption, currency: str
    ) -> PricedRate:
        amount = round_for(self._exchange.convert(rate.amount, rate.currency, currency), currency)
        if not option.free:
            amount = max(amount, minor_unit(currency))
        return PricedRate(
            rate.option_id, amount, currency, rate.source, rate.logistic_name, rate.eta_days,
            rate.expires_at,
        )  # fmt: skip

    # The cache warmer

    def start(self) -> None:
        self._store.start()
        if self._cache_enabled and self._warmer is None:
            self._warmer = asyncio.get_running_loop().create_task(
                self._warm_forever(), name="rates-warmer"
            )

    async def warm_once(self) -> bool:
        """Fetch the most wanted missing quote; False when nothing is wanted, or CJ has no
        request for it within about one interval (then nothing is taken off the list)."""
        until = time.monotonic() + self._warmer_slot_wait
        try:
            await self._cj.transport.refuse_fast(until, Priority.warming)
        except CJThrottled:
            return False
        wanted = await self._demand.most_wanted()
        if wanted is None:
            return False
        key, count = wanted
        cached = await self._store.get(key)
        if cached is not None and cached.is_fresh(self._ttl, datetime.now(UTC)):
            return True
        task, _ = self._flights.join(
            key,
            lambda: self._fetch(key, until, Priority.warming),
            newer_than=cached.fetched_at if cached else None,
            wait_until=time.monotonic() + self._call_timeout,
        )
        try:
            await asyncio.shield(task)
        except CJThrottled:
            await self._demand.want(key, count)  # back in its place; CJ has no request free
            return False
        except CJError as exc:
            RATES_WARMED.labels(outcome=type(exc).__name__).inc()
            if not isinstance(exc, CJRejected):
                await self._demand.want(key, count)  # still wanted; CJ is busy or away
                raise
            return True
        RATES_WARMED.labels(outcome="ok").inc()
        return True

    async def _warm_forever(self) -> None:
        # Stopped by an event, not by cancellation: a task cancelled inside a Redis read
        # can hang, and shutdown must not.
        while not self._stopping.is_set():
            pause = 0.0
            try:
                if not await self.warm_once():
                    pause = WARMER_IDLE_SECONDS
            except CJError:
                pause = WARMER_BACKOFF_SECONDS
            except Exception:
                log.exception("rates_warmer_failed")
                pause = WARMER_BACKOFF_SECONDS
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)

    async def aclose(self) -> None:
        if self._warmer is not None:
            self._stopping.set()
            await stop_task(self._warmer, STOP_GRACE_SECONDS)
            self._warmer = None
        await self._flights.aclose()
        await self._demand.aclose()
        await self._store.aclose()


def _first_offered(option: FulfillmentOption, quotes: QuoteSet | None) -> QuotedLogistic | None:
    if quotes is None:
        return None
    for name in option.logistics:
        found = quotes.find(name)
        if found is not None:
            return found
    return None
