"""structlog configuration: one pipeline for our logs and for uvicorn/sqlalchemy's."""

from __future__ import annotations

import logging
import logging.config
from collections.abc import MutableMapping
from contextvars import ContextVar, Token
from typing import Any

import structlog

from app.core.config import LogFormat
from app.core.redaction import redact_processor

# The request being served (id, method, path): one context variable set per request, read
# only when a line is logged, instead of binding structlog's context for every request.
_REQUEST: ContextVar[tuple[str, str, str] | None] = ContextVar("request", default=None)


def bind_request(request_id: str, method: str, path: str) -> Token[tuple[str, str, str] | None]:
    """Every line logged until `unbind_request` carries this request's id, method and path."""
    return _REQUEST.set((request_id, method, path))


def unbind_request(token: Token[tuple[str, str, str] | None]) -> None:
    _REQUEST.reset(token)


def add_request_context(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the request's id, method and path (see `bind_request`); a
    field the line names itself wins."""
    request = _REQUEST.get()
    if request is not None:
        event_dict.setdefault("request_id", request[0])
        event_dict.setdefault("method", request[1])
        event_dict.setdefault("path", request[2])
    return event_dict


_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    add_request_context,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
    redact_processor,
]


def configure_logging(log_format: LogFormat, level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format is LogFormat.json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "foreign_pre_chain": _SHARED_PROCESSORS,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        renderer,
                    ],
                }
            },
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structured"}},
            "root": {"handlers": ["default"], "level": level.upper()},
            "loggers": {
                "uvicorn.access": {"level": "WARNING"},
                "uvicorn.error": {"handlers": [], "propagate": True},
                "uvicorn": {"handlers": [], "propagate": True},
                "sqlalchemy.engine": {"level": "WARNING"},
                "httpx": {"level": "WARNING"},
            },
        }
    )
    structlog.configure(
        processors=[
            # First: an event below the level costs one check, not the whole pipeline.
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
