"""What every sink offers the outbox dispatcher, and how it says a delivery failed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, Protocol

import httpx

from app.sinks.notification import FulfillmentNotification, NotificationEvent

# One attempt's budget; the outbox retries, so a slow sink never holds a claim for long.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_REASON_LENGTH = 300
# A proxy's or an overloaded server's answers: about the sink, never about one message.
_UNAVAILABLE = frozenset({502, 503, 504})


class DeliveryOutcome(StrEnum):
    delivered = "delivered"
    already_done = "already_done"  # the sink had it already (an earlier, unrecorded attempt)
    skipped = "skipped"  # nothing in this message for that sink to do


class DeliveryError(Exception):
    """The sink did not take the message.

    `permanent`: retrying cannot help (give up now). `auth`: the sink refused our
    credentials, a configuration error that is retried (it may be fixed) and reported.
    `status`: the sink's HTTP status, when it answered. `transport`: no answer
    (connection refused, timeout). `sink_down` says the failure is the sink's, not the
    message's: the dispatcher pauses the whole sink instead of trying each of its messages.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        auth: bool = False,
        status: int | None = None,
        transport: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.auth = auth
        self.status = status
        self.transport = transport

    @property
    def server_error(self) -> bool:
        return self.status is not None and self.status >= 500

    @property
    def sink_down(self) -> bool:
        """Every message of the sink would fail the same way: unreachable, a gateway's or
        an overloaded server's 502/503/504, or our credentials refused. Another 5xx (a
        500) may be that message's alone, such as a store's bug on one order: the
        dispatcher takes it as the sink's only when it keeps coming for other messages."""
        return not self.permanent and (self.transport or self.auth or self.status in _UNAVAILABLE)


@dataclass(frozen=True)
class Delivery:
    """One outbox message as a sink sees it: a fulfillment event, or (for the chat sinks)
    an ops alert's `ops_alert:<incident>:<state>`."""

    message_id: int
    event: NotificationEvent | str
    payload: dict[str, Any]

    @cached_property
    def notification(self) -> FulfillmentNotification:
        return FulfillmentNotification.model_validate(self.payload)


class Sink(Protocol):
    name: str
    events: frozenset[NotificationEvent]

    async def deliver(self, delivery: Delivery) -> DeliveryOutcome:
        """Send it; raise `DeliveryError` when the sink did not take it."""
        ...

    async def aclose(self) -> None: ...


def response_reason(response: httpx.Response) -> str:
    """`HTTP 400: <message>` from a JSON `message` (Medusa) or the start of the body."""
    try:
        body = response.json()
        detail = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        detail = None
    text = str(detail) if detail else response.text
    reason = f"HTTP {response.status_code}"
    if text.strip():
        reason += f": {' '.join(text.split())}"
    return reason[:_REASON_LENGTH]


def transport_failure(exc: httpx.HTTPError) -> DeliveryError:
    """A timeout or connection failure: always worth another attempt."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return DeliveryError(
        f"request {kind}: {type(exc).__name__}: {exc}"[:_REASON_LENGTH], transport=True
    )
