"""Background loops (`python -m app.workers`, or in the web process with
RUN_WORKER_IN_PROCESS=true): placing pending fulfillments at CJ, applying the CJ webhooks
the intake stored, keeping tracking current (confirming webhooks that are not CJ's own
word, polling quiet orders), following refund disputes to CJ's decision, trying balance
payments again, reading the mapped products' stock, delivering the store's notifications
(the outbox), and pruning what is kept past its use; plus the heartbeat, the ops gauges
and the ops alerts."""

from __future__ import annotations

import asyncio

from app.container import Container
from app.core.chat_targets import OPS_SINK_PREFIX
from app.services.operations import OpsReader
from app.services.ops_alerts import OpsAlerter, default_rules
from app.workers.dispute_loop import DisputeWorker
from app.workers.heartbeat import Heartbeat
from app.workers.operations import OperationsWorker
from app.workers.outbox_loop import OutboxWorker
from app.workers.payment_loop import PaymentWorker
from app.workers.retention_loop import RetentionWorker
from app.workers.stock_loop import StockWorker
from app.workers.submission_loop import SubmissionWorker
from app.workers.tracking_loop import TrackingWorker
from app.workers.webhook_loop import WebhookWorker


async def run_workers(container: Container, stop: asyncio.Event) -> None:
    """Run every loop until `stop` is set; each finishes its work in flight first."""
    settings = container.settings
    submissions = SubmissionWorker(
        container.sessionmaker,
        container.submitter,
        concurrency=settings.worker_concurrency,
        poll_seconds=settings.worker_poll_seconds,
    )
    tracking = TrackingWorker(
        container.tracking_readback, poll_seconds=settings.worker_poll_seconds
    )
    outbox = OutboxWorker(container.outbox_dispatcher, poll_seconds=settings.worker_poll_seconds)
    retention = RetentionWorker(
        container.retention, interval_seconds=settings.retention_interval_seconds
    )
    webhooks = WebhookWorker(
        container.webhook_applier,
        batch=settings.webhook_apply_batch,
        poll_seconds=settings.webhook_apply_poll_seconds,
    )
    heartbeat = Heartbeat(container.redis)
    chat_sinks = [
        name for name in container.outbox_dispatcher.sinks if name.startswith(OPS_SINK_PREFIX)
    ]
    alerter = OpsAlerter(
        container.sessionmaker, chat_sinks, default_rules(settings.ops_alert_cj_down_minutes)
    )
    operations = OperationsWorker(
        OpsReader(container.sessionmaker, container.cj, container.redis),
        alerter if chat_sinks else None,
    )
    disputes = DisputeWorker(container.disputes, interval_seconds=settings.dispute_poll_seconds)
    payments = PaymentWorker(container.payments, poll_seconds=settings.worker_poll_seconds)
    stock = StockWorker(
        container.stock_poller,
        interval_seconds=settings.stock_poll_seconds,
        poll_seconds=settings.worker_poll_seconds,
    )
    await asyncio.gather(
        submissions.run(stop),
        webhooks.run(stop),
        tracking.run(stop),
        outbox.run(stop),
        retention.run(stop),
        heartbeat.run(stop),
        operations.run(stop),
        disputes.run(stop),
        payments.run(stop),
        stock.run(stop),
    )
