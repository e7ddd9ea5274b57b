"""Each request observed once: `http_requests_total`, the latency histogram, the access log.

Routes are labelled by their template (`/v1/fulfillments/{fulfillment_id}`), never by the
path, so the label set stays small.
"""

from __future__ import annotations

import time

import structlog
from starlette.types import Message, Receive, Scope, Send

from app.api.middleware.base import HTTPMiddleware
from app.core.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = structlog.get_logger("app.access")


def route_template(scope: Scope) -> str:
    """The matched route's template with its router prefixes (`/v1/fulfillments/{id}`).

    FastAPI puts the route as declared, without the prefixes of the routers that include
    it, in the scope; the prefix is what the request path has before the rendered route.
    """
    path_format = getattr(scope.get("route"), "path_format", None)
    if not isinstance(path_format, str):
        return "unmatched"
    params = {name: str(value) for name, value in scope.get("path_params", {}).items()}
    try:
        rendered = path_format.format(**params)
    except (KeyError, IndexError, ValueError):
        return path_format
    path: str = scope.get("path", "")
    if rendered and path.endswith(rendered):
        return path[: len(path) - len(rendered)] + path_format
    return path_format


class RequestMetricsMiddleware(HTTPMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        started = time.perf_counter()
        status = 500  # what the caller gets when nothing was sent

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            template = route_template(scope)
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(method=method, route=template, status=str(status)).inc()
            HTTP_LATENCY.labels(method=method, route=template).observe(elapsed)
            log.info(
                "http_request",
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
            )
