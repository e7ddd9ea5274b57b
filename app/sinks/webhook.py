"""A generic webhook: the notification POSTed as JSON, signed per Standard Webhooks.

Headers: `webhook-id` (the event's id, the same on every retry, for deduplication),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed as `webhook_signing_key` says).
Any 2xx is success. Everything else is retried, since a generic receiver's 4xx may be a
fault it fixes; a 401/403 is also reported as `auth_error` (the secrets disagree). A
timeout, a refused connection, a 5xx or a 401/403 pauses the whole sink (the dispatcher
probes it with one message), any other 4xx is the message's own failure.
"""

from __future__ import annotations

import json
import time

import httpx
from pydantic import SecretStr

from app.core.security import webhook_signature, webhook_signing_key
from app.sinks.base import (
    DEFAULT_TIMEOUT,
    Delivery,
    DeliveryError,
    DeliveryOutcome,
    response_reason,
    transport_failure,
)
from app.sinks.notification import NotificationEvent


class WebhookSink:
    name = "webhook"
    events = frozenset(NotificationEvent)

    def __init__(
        self, url: str, secret: SecretStr, *, http: httpx.AsyncClient | None = None
    ) -> None:
        self._url = url
        self._key = webhook_signing_key(secret)
        self._http = http or httpx.AsyncClient(
            timeout=DEFAULT_TIMEOUT, headers={"User-Agent": "cj-fulfillment"}
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def deliver(self, delivery: Delivery) -> DeliveryOutcome:
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        message_id = str(delivery.payload["id"])
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhook_signature(self._key, message_id, timestamp, body),
        }
        try:
            response = await self._http.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc
        if response.is_success:
            return DeliveryOutcome.delivered
        reason = response_reason(response)
        if response.status_code in (401, 403):
            raise DeliveryError(f"the receiver refused the signature: {reason}", auth=True)
        raise DeliveryError(reason, status=response.status_code)
