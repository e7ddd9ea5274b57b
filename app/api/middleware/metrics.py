"""Each request observed once: `http_requests_total`, the latency histogram, the access log.

Routes are labelled by their template (`/v1/fulfillments/{fulfillment_id}`), never by the
path, so the label set stays small. The cost per request is kept to a dict lookup: the
labelled children are looked up once per (method, route, status), a template without path
parameters once per route, and the access line is only built when INFO is logged.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import Message, Receive, Scope, Send

from app.api.middleware.base import HTTPMiddleware
from app.core.metrics import HTTP_LATENCY, HTTP_REQUESTS

ACCESS_LOGGER = "app.access"
log = structlog.get_logger(ACCESS_LOGGER)
_access = logging.getLogger(ACCESS_LOGGER)

# A route without path parameters has one template per prefix it is mounted under. The
# entry holds the route, so its id is not reused while the entry lives (routes are not
# hashable).
_STATIC_TEMPLATES: dict[tuple[int, str], tuple[object, str]] = {}
_STATIC_TEMPLATES_MAX = 1024
_CHILDREN: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def route_template(scope: Scope) -> str:
    """The matched route's template with its router prefixes (`/v1/fulfillments/{id}`).

    FastAPI puts the route as declared, without the prefixes of the routers that include
    it, in the scope; the prefix is what the request path has before the rendered route.
    """
    route = scope.get("route")
    path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return "unmatched"
    path: str = scope.get("path", "")
    path_params: dict[str, Any] = scope.get("path_params", {})
    if path_params:
        return _template(path_format, path, path_params)
    key = (id(route), path)
    known = _STATIC_TEMPLATES.get(key)
    if known is not None and known[0] is route:
        return known[1]
    template = _template(path_format, path, path_params)
    if len(_STATIC_TEMPLATES) < _STATIC_TEMPLATES_MAX:
        _STATIC_TEMPLATES[key] = (route, template)
    return template


def _template(path_format: str, path: str, path_params: dict[str, Any]) -> str:
    params = {name: str(value) for name, value in path_params.items()}
    try:
        rendered = path_format.format(**params)
    except (KeyError, IndexError, ValueError):
        return path_format
    if rendered and path.endswith(rendered):
        return path[: len(path) - len(rendered)] + path_format
    return path_format


def _children(method: str, template: str, status: int) -> tuple[Counter, Histogram]:
    key = (method, template, status)
    children = _CHILDREN.get(key)
    if children is None:
        children = (
            HTTP_REQUESTS.labels(method=method, route=template, status=str(status)),
            HTTP_LATENCY.labels(method=method, route=template),
        )
        _CHILDREN[key] = children
    return children


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
            requests, latency = _children(method, template, status)
            requests.inc()
            latency.observe(elapsed)
            if _access.isEnabledFor(logging.INFO):
                log.info(
                    "http_request",
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 1),
                )
