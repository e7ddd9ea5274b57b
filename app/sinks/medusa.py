"""Shipments and deliveries pushed to Medusa's Admin API (v2) with a secret API key.

- `shipped` / `tracking_updated`: `POST /admin/orders/{order}/fulfillments/{ful}/shipments`
  with the fulfillment's line items and the complete label list (Medusa replaces the
  fulfillment's labels with the ones sent).
- `delivered`: `POST …/mark-as-delivered`.

Medusa creates a shipment only once per fulfillment and marks it delivered only once;
neither call is idempotent, so its 400 "already been created" / "already been marked
delivered" answers mean an earlier attempt got through: done. A later tracking change
therefore does not reach Medusa's labels (its Admin API has no route to replace them).

Answers: 401/403 our key is refused (configuration: retried, reported as `auth_error`);
404 the order or fulfillment does not exist (given up at once); any other 400 or 4xx is
refused for good (e.g. a cancelled fulfillment); 408, 409 (Medusa's lock conflict), 429,
3xx, 5xx and network failures are retried.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from app.schemas.notifications import FulfillmentNotification, NotificationEvent
from app.sinks.base import (
    DEFAULT_TIMEOUT,
    Delivery,
    DeliveryError,
    DeliveryOutcome,
    response_reason,
    transport_failure,
)

_ALREADY_DONE = ("already been created", "already been marked delivered")
_RETRIED = frozenset({408, 409, 425, 429})
# Medusa accepts a URL, "" or "#" for a label's URLs; "#" says "none".
_NO_URL = "#"


def shipment_body(notification: FulfillmentNotification) -> dict[str, Any]:
    data = notification.data
    body: dict[str, Any] = {
        "items": [{"id": item.line_item_id, "quantity": item.quantity} for item in data.items]
    }
    if data.tracking:
        body["labels"] = [
            {
                "tracking_number": label.number,
                "tracking_url": label.url if _is_http_url(label.url) else _NO_URL,
                "label_url": _NO_URL,
            }
            for label in data.tracking
        ]
    return body


def _is_http_url(value: str | None) -> bool:
    return bool(value) and str(value).startswith(("https://", "http://"))


class MedusaAdminSink:
    name = "medusa"
    events = frozenset(
        {NotificationEvent.shipped, NotificationEvent.tracking_updated, NotificationEvent.delivered}
    )

    def __init__(
        self,
        base_url: str,
        secret_key: SecretStr,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._secret_key = secret_key
        self._http = http or httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=DEFAULT_TIMEOUT,
            headers={"User-Agent": "cj-fulfillment"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def deliver(self, delivery: Delivery) -> DeliveryOutcome:
        notification = delivery.notification
        data = notification.data
        fulfillment_path = (
            f"/admin/orders/{quote(data.order_id, safe='')}"
            f"/fulfillments/{quote(data.external_id, safe='')}"
        )
        if delivery.event is NotificationEvent.delivered:
            return await self._post(f"{fulfillment_path}/mark-as-delivered", {})
        if delivery.event is NotificationEvent.tracking_updated and not data.tracking:
            return DeliveryOutcome.skipped
        return await self._post(f"{fulfillment_path}/shipments", shipment_body(notification))

    async def _post(self, path: str, body: dict[str, Any]) -> DeliveryOutcome:
        headers = {
            # Medusa v2 takes a secret API key only as HTTP Basic with the raw key.
            "Authorization": f"Basic {self._secret_key.get_secret_value()}",
        }
        try:
            response = await self._http.post(path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc
        if response.is_success:
            return DeliveryOutcome.delivered
        reason = response_reason(response)
        status = response.status_code
        if status == 400 and any(marker in reason for marker in _ALREADY_DONE):
            return DeliveryOutcome.already_done
        if status in (401, 403):
            raise DeliveryError(f"Medusa refused MEDUSA_SECRET_KEY: {reason}", auth=True)
        permanent = 400 <= status < 500 and status not in _RETRIED
        raise DeliveryError(reason, permanent=permanent)
