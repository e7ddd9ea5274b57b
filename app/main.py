"""The FastAPI application: `uvicorn app.main:app`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.api.docs import router as docs_router
from app.api.errors import install_error_handlers
from app.api.fast_paths import FastPaths
from app.api.health import router as health_router
from app.api.middleware.stack import install_middleware
from app.api.router import v1_router
from app.api.webhooks import router as webhooks_router
from app.container import Container
from app.core.config import Settings, SettingsError, get_settings
from app.core.heap import freeze_startup_heap, thaw_heap
from app.core.logging import configure_logging
from app.workers import run_workers

log = structlog.get_logger(__name__)


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> FastAPI:
    """The service. `freeze_heap`: the app is the process's own (uvicorn's), whose startup
    heap is kept out of the garbage collector's full collections (app.core.heap)."""
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = Container.build(settings, process="web")
        app.state.container = container
        container.start()
        if freeze_heap:
            freeze_startup_heap()
        stop = asyncio.Event()
        worker = (
            asyncio.create_task(run_workers(container, stop))
            if settings.run_worker_in_process
            else None
        )
        log.info(
            "service_started",
            environment=settings.environment.value,
            database=container.engine.url.get_backend_name(),
            redis=container.redis is not None,
            worker_in_process=worker is not None,
        )
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            await container.close()
            if freeze_heap:
                thaw_heap()
            log.info("service_stopped")

    app = FastAPI(
        title="cj-fulfillment",
        version="0.1.0",
        summary="CJ Dropshipping as a fulfillment provider for Medusa stores.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        # Served by app.api.docs instead, behind the ops key.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # The service exports Prometheus metrics (app.api.middleware.metrics) and no
        # OpenTelemetry; FastAPI's own would otherwise look for a provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app)
    # A router tries its routes in order: the busiest paths first, CJ's webhooks (matching
    # every /v1 route before them cost a webhook more than its signature check), then the
    # API with checkout's rates (matching health and docs first cost a rate request ~5%).
    # The paths do not overlap, so the order changes nothing else (nor the OpenAPI document).
    app.include_router(webhooks_router)
    app.include_router(v1_router)
    app.include_router(health_router)
    app.include_router(docs_router)
    # Added first, so it is the innermost of our middleware: CJ's webhooks and the plain rate
    # request are answered there, after our whole chain, without FastAPI's routing and
    # request handling (see app.api.fast_paths); every other request goes on to FastAPI.
    app.add_middleware(FastPaths)
    install_middleware(
        app,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
    )
    return app


def __getattr__(name: str) -> FastAPI:
    """`app.main:app` is built on first access, so importing this module reads no settings."""
    if name == "app":
        try:
            application = create_app(freeze_heap=True)
        except SettingsError as exc:
            # uvicorn prints this and exits 1: one line per refused setting, no traceback.
            raise SystemExit(f"configuration error:\n{exc}") from None
        globals()["app"] = application
        return application
    raise AttributeError(name)
