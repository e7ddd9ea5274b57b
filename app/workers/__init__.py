"""Background loops (`python -m app.workers`, or in the web process with
RUN_WORKER_IN_PROCESS=true): placing pending fulfillments at CJ, and keeping their
tracking current (confirming untrusted webhooks, polling quiet orders), and delivering
the store's notifications (the outbox)."""

from __future__ import annotations

import asyncio

from app.resources import Resources
from app.workers.outbox import OutboxWorker
from app.workers.submissions import SubmissionWorker
from app.workers.tracking import TrackingWorker


async def run_workers(resources: Resources, stop: asyncio.Event) -> None:
    """Run every loop until `stop` is set; each finishes its work in flight first."""
    settings = resources.settings
    submissions = SubmissionWorker(
        resources.sessionmaker,
        resources.submitter,
        concurrency=settings.worker_concurrency,
        poll_seconds=settings.worker_poll_seconds,
    )
    tracking = TrackingWorker(resources.tracking_sync, poll_seconds=settings.worker_poll_seconds)
    outbox = OutboxWorker(resources.outbox_dispatcher, poll_seconds=settings.worker_poll_seconds)
    await asyncio.gather(submissions.run(stop), tracking.run(stop), outbox.run(stop))
