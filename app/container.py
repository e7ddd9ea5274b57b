"""Long-lived objects of one process, built at start-up and closed at shutdown.

This is the composition root: the one place that knows every concrete class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.api.v1.fulfillment_answers import answer_for
from app.cj.breaker import CJBreaker
from app.cj.client import CJClient
from app.cj.ratelimit import create_rate_limiter
from app.cj.transport import CJTransport
from app.core.chat_targets import parse_target
from app.core.config import Settings
from app.core.encryption import TokenCipher
from app.core.redis import create_redis
from app.db.inbox_writer import InboxWriter
from app.db.session import create_engine, create_sessionmaker
from app.db.token_store import DatabaseTokenStore
from app.services.cancellation import CancellationService
from app.services.catalogue import ProductCatalogue
from app.services.disputes import DisputeFollower
from app.services.fulfillments import FulfillmentService
from app.services.notifications import OutboxDispatcher, OutboxWriter, RetryPolicy
from app.services.options import OptionsCatalog
from app.services.payment_retry import PaymentRetrier
from app.services.quote_cache import create_quote_store
from app.services.quote_demand import create_quote_demand
from app.services.quote_flights import QuoteFlights
from app.services.rates import RateService
from app.services.retention import Retention
from app.services.skus import VariantResolver
from app.services.stock import StockGuard
from app.services.stock_poll import StockPoller
from app.services.submission import Submitter
from app.services.tracking_applier import TrackingApplier
from app.services.tracking_readback import PollPacer, TrackingReadback, pace_interval
from app.services.transitions import StatusChanges
from app.services.variant_check import PACER_KEY as CATALOGUE_PACER_KEY
from app.services.variant_check import VariantChecker
from app.services.webhook_applier import WebhookApplier
from app.services.webhook_intake import WebhookIntake
from app.sinks.base import Sink
from app.sinks.chat import ChatSink
from app.sinks.medusa import MedusaAdminSink, MedusaDataSink
from app.sinks.medusa_stock import MedusaStockSink
from app.sinks.webhook import WebhookSink

# Used only outside production (which requires TOKEN_ENCRYPTION_KEY), so a first run
# works without configuring one.
_DEVELOPMENT_TOKEN_KEY = "cj-fulfillment-development-only"


def token_cipher(settings: Settings) -> TokenCipher:
    key = settings.token_encryption_key or settings.cj_api_key
    return TokenCipher(key or SecretStr(_DEVELOPMENT_TOKEN_KEY))


def build_cj_client(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis | None,
) -> CJClient:
    transport = CJTransport(
        base_url=settings.cj_api_base_url,
        timeout_seconds=settings.cj_timeout_seconds,
        limiter=create_rate_limiter(redis, settings.cj_qps),
        breaker=CJBreaker(
            redis,
            fail_max=settings.cj_breaker_fail_max,
            reset_timeout=settings.cj_breaker_open_seconds,
        ),
        redis=redis,
    )
    return CJClient(
        transport,
        api_key=settings.cj_api_key,
        token_store=DatabaseTokenStore(sessionmaker, token_cipher(settings)),
        redis=redis,
        open_id_override=settings.cj_open_id,
        default_timeout_seconds=settings.cj_timeout_seconds,
    )


def build_rate_service(
    settings: Settings,
    options: OptionsCatalog,
    variants: VariantResolver,
    cj: CJClient,
    redis: Redis | None,
    stock: StockGuard,
) -> RateService:
    store = create_quote_store(redis, timedelta(seconds=settings.rates_stale_ttl))
    # The lock outlives the longest CJ call, so a second process never calls for the same cart.
    lock_ttl = timedelta(seconds=settings.cj_timeout_seconds + settings.rates_budget_ms / 1000 + 1)
    return RateService(
        settings=settings,
        options=options,
        variants=variants,
        stock=stock,
        cj=cj,
        store=store,
        flights=QuoteFlights(store, redis, lock_ttl),
        demand=create_quote_demand(redis),
    )


# The sinks the stock poll's catalogue events are written for.
CATALOGUE_SINKS = frozenset({WebhookSink.name, MedusaStockSink.name})


def build_sinks(settings: Settings) -> list[Sink]:
    """The notification sinks that are configured (Settings checks each has its secret)."""
    sinks: list[Sink] = []
    if settings.medusa_url and settings.medusa_secret_key is not None:
        sinks.append(MedusaAdminSink(settings.medusa_url, settings.medusa_secret_key))
        if settings.medusa_fulfillment_data:
            sinks.append(MedusaDataSink(settings.medusa_url, settings.medusa_secret_key))
        if settings.medusa_stock_location_id:
            sinks.append(
                MedusaStockSink(
                    settings.medusa_url,
                    settings.medusa_secret_key,
                    settings.medusa_stock_location_id,
                )
            )
    if settings.notify_url and settings.notify_secret is not None:
        sinks.append(WebhookSink(settings.notify_url, settings.notify_secret))
    sinks += [ChatSink(parse_target(url)) for url in settings.ops_notify_urls]
    return sinks


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    options: OptionsCatalog
    cj: CJClient
    variants: VariantResolver
    rates: RateService
    submitter: Submitter
    fulfillments: FulfillmentService
    cancellations: CancellationService
    tracking: TrackingApplier
    tracking_readback: TrackingReadback
    disputes: DisputeFollower
    payments: PaymentRetrier
    webhooks: WebhookIntake
    webhook_applier: WebhookApplier
    outbox: OutboxWriter
    outbox_dispatcher: OutboxDispatcher
    retention: Retention
    catalogue: ProductCatalogue
    variant_checker: VariantChecker
    stock_poller: StockPoller

    @classmethod
    def build(cls, settings: Settings, *, process: str) -> Container:
        options = OptionsCatalog.load(settings.options_file)
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        redis = create_redis(settings.redis_url, client_name=f"cj-fulfillment.{process}")
        cj = build_cj_client(settings, sessionmaker, redis)
        variants = VariantResolver(sessionmaker, cache_seconds=settings.sku_cache_seconds)
        stock = StockGuard(sessionmaker, cache_seconds=settings.sku_cache_seconds)
        sinks = build_sinks(settings)
        catalogue_pacer = PollPacer(
            redis,
            pace_interval(settings.cj_qps, settings.catalogue_qps_share),
            key=CATALOGUE_PACER_KEY,
        )
        outbox = OutboxWriter({sink.name: sink.events for sink in sinks})
        changes = StatusChanges(outbox)
        submitter = Submitter(sessionmaker, cj, options, settings, changes=changes)
        tracking = TrackingApplier(changes)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            redis=redis,
            options=options,
            cj=cj,
            variants=variants,
            rates=build_rate_service(settings, options, variants, cj, redis, stock),
            submitter=submitter,
            fulfillments=FulfillmentService(
                sessionmaker,
                options=options,
                variants=variants,
                stock=stock,
                submitter=submitter,
                settings=settings,
                answer_for=answer_for,
                changes=changes,
            ),
            cancellations=CancellationService(
                sessionmaker, cj, submitter, settings, changes=changes
            ),
            tracking=tracking,
            tracking_readback=TrackingReadback(
                sessionmaker,
                cj,
                tracking,
                pacer=PollPacer(
                    redis, pace_interval(settings.cj_qps, settings.tracking_poll_qps_share)
                ),
                quiet_seconds=settings.tracking_poll_quiet_seconds,
                call_timeout_seconds=settings.cj_timeout_seconds,
            ),
            disputes=DisputeFollower(
                sessionmaker,
                cj,
                changes=changes,
                give_up_after=timedelta(seconds=settings.dispute_give_up_seconds),
            ),
            payments=PaymentRetrier(sessionmaker, cj, settings, changes=changes),
            webhooks=WebhookIntake(
                InboxWriter(engine),
                verify=settings.cj_webhook_verify,
                open_id=cj.tokens.open_id,
            ),
            webhook_applier=WebhookApplier(sessionmaker, tracking),
            outbox=outbox,
            outbox_dispatcher=OutboxDispatcher(
                sessionmaker,
                sinks,
                policy=RetryPolicy.starting_at(settings.outbox_retry_initial_seconds),
            ),
            retention=Retention(
                sessionmaker,
                webhook_inbox_days=settings.webhook_inbox_retention_days,
                idempotency_days=settings.idempotency_retention_days,
            ),
            catalogue=ProductCatalogue(sessionmaker, cj),
            variant_checker=VariantChecker(cj, catalogue_pacer),
            stock_poller=StockPoller(
                sessionmaker,
                cj,
                catalogue_pacer,
                sinks=[s.name for s in sinks if s.name in CATALOGUE_SINKS],
            ),
        )

    def start(self) -> None:
        self.cj.transport.breaker.start()
        self.rates.start()

    async def close(self) -> None:
        await self.rates.aclose()
        await self.outbox_dispatcher.aclose()
        await self.cj.transport.breaker.stop()
        await self.cj.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
