"""`python -m app.workers`: the worker process. SIGTERM or SIGINT stops it cleanly: no new
work is claimed, and what is in flight finishes (or is left to its lease).

With WORKER_NICENESS it first lowers its own CPU priority: on a host it shares with the web
process, what CJ waits for (the webhook intake's 200) goes before what can lag (applying,
polling, placing orders), which matters only while the cores are all busy.

It serves its own Prometheus metrics (heartbeat, loops, the ops gauges, its CJ calls) on
WORKER_METRICS_HOST:WORKER_METRICS_PORT, in a thread of prometheus_client's.
"""

from __future__ import annotations

import asyncio
import os
import signal
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import start_http_server

from app.container import Container
from app.core.config import Settings, SettingsError, get_settings
from app.core.logging import configure_logging
from app.core.metrics import REGISTRY
from app.workers import run_workers

log = structlog.get_logger("app.workers")


def _serve_metrics(settings: Settings) -> WSGIServer | None:
    """The worker's /metrics; a port already taken (two workers on one host) is logged and
    the worker runs on without it (its Redis heartbeat still shows it alive)."""
    if not settings.worker_metrics_port:
        return None
    try:
        server, _thread = start_http_server(
            settings.worker_metrics_port, addr=settings.worker_metrics_host, registry=REGISTRY
        )
    except OSError as exc:
        log.error(
            "worker_metrics_unavailable",
            host=settings.worker_metrics_host,
            port=settings.worker_metrics_port,
            error=str(exc),
        )
        return None
    return server


def _lower_priority(settings: Settings) -> None:
    if settings.worker_niceness:
        os.nice(settings.worker_niceness)


async def serve(settings: Settings) -> None:
    container = Container.build(settings, process="worker")
    container.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = _serve_metrics(settings)
    log.info(
        "worker_started",
        database=container.engine.url.get_backend_name(),
        metrics_port=settings.worker_metrics_port or None,
    )
    try:
        await run_workers(container, stop)
    finally:
        if server is not None:
            server.shutdown()
        await container.close()
        log.info("worker_stopped")


def main() -> int:
    try:
        settings = get_settings()
    except SettingsError as exc:
        raise SystemExit(f"configuration error:\n{exc}") from None
    configure_logging(settings.log_format, settings.log_level)
    _lower_priority(settings)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
