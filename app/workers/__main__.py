"""`python -m app.workers`: the worker process. SIGTERM or SIGINT stops it cleanly: no new
work is claimed, and what is in flight finishes (or is left to its lease)."""

from __future__ import annotations

import asyncio
import signal

import structlog

from app.container import Container
from app.core.config import Settings, SettingsError, get_settings
from app.core.logging import configure_logging
from app.workers import run_workers

log = structlog.get_logger("app.workers")


async def serve(settings: Settings) -> None:
    container = Container.build(settings, process="worker")
    container.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("worker_started", database=container.engine.url.get_backend_name())
    try:
        await run_workers(container, stop)
    finally:
        await container.close()
        log.info("worker_stopped")


def main() -> int:
    try:
        settings = get_settings()
    except SettingsError as exc:
        raise SystemExit(f"configuration error:\n{exc}") from None
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
