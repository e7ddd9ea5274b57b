"""Medusa's Admin API (v2), called with a secret API key: two sinks, each with its own
outbox rows (so one's failures never hold up the other's messages).

`MedusaAdminSink` ("medusa"): shipments and deliveries, through Medusa's own routes.

- `shipped` / `tracking_updated`: `POST /admin/orders/{order}/fulfillments/{ful}/shipments`
  with the fulfillment's line items and the complete label list (Medusa replaces the
  fulfillment's labels with the ones sent).
- `delivered`: `POST …/mark-as-delivered`.
- `failed` / `cancelled`: `POST …/cancel`, so the store no longer waits on a fulfillment
  CJ will never ship (CJ refused it, the service gave up, a refund, a cancel at CJ) and
  its items can be fulfilled again. Medusa's cancel calls the provider's
  cancelFulfillment, which this service answers as is for a failed or cancelled
  fulfillment. A change made through this service's API (`change_source` `api`: the
  store's own cancel through its provider, or a create the API refused, whose fulfillment
  Medusa dropped) is not sent back: Medusa is cancelling it already, and a second cancel
  workflow racing the first would restore its stock twice.
  "already canceled" is done; "not found in the order" (Medusa deleted its fulfillment
  when createFulfillment failed) leaves nothing to cancel.

Medusa creates a shipment only once per fulfillment and marks it delivered only once;
neither call is idempotent, so its 400 "already been created" / "already been marked
delivered" answers mean an earlier attempt got through: done. A later tracking change
therefore does not reach Medusa's labels (its Admin API has no route to replace them).

Answers: 401/403 our key is refused (configuration: retried, reported as `auth_error`);
404 the order or fulfillment does not exist (given up at once); any other 400 or 4xx is
refused for good (e.g. a cancelled fulfillment); 408, 409 (Medusa's lock conflict), 429,
3xx and network failures are retried. A 5xx is retried unless Medusa no longer has the
fulfillment: its shipment workflow throws a plain Error for a fulfillment that is not on
the order (500), e.g. one Medusa deleted when createFulfillment failed, so after a 5xx the
order's fulfillments are read, and a fulfillment missing from them (or an order Medusa
does not know) is given up at once with Medusa's answer, not retried for days.

`MedusaDataSink` ("medusa_data"): every change (CJ order id, status and reason, tracking,
including `failed` and `cancelled`) written into the Medusa fulfillment's `data` through
the medusa-fulfillment-cj plugin's route `POST /admin/cj-fulfillment/fulfillments/{ful}/
cj-data` (Medusa has no Admin route for `data`). The route keeps the newest state
(`updated_at`), so a repeat or a late message changes nothing. A 404 is permanent: either
Medusa has no such fulfillment or the store runs without the plugin (the reason says
which; after adding the plugin, replay the dead letters).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import HttpUrl, SecretStr, TypeAdapter, ValidationError

from app.sinks.base import (
    DEFAULT_TIMEOUT,
    Delivery,
    DeliveryError,
    DeliveryOutcome,
    response_reason,
    transport_failure,
)
from app.sinks.notification import FulfillmentNotification, NotificationEvent

_ALREADY_DONE = (
    "already been created",
    "already been marked delivered",
    "fulfillment is already canceled",
)
# Medusa's cancel workflow for a fulfillment the order does not have (INVALID_DATA, 400).
_NOTHING_TO_CANCEL = "not found in the order"
_ENDED = frozenset({NotificationEvent.failed, NotificationEvent.cancelled})
_RETRIED = frozenset({408, 409, 425, 429})
# Medusa accepts a URL, "" or "#" for a label's URLs; "#" says "none".
_NO_URL = "#"
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


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
    """A whole http(s) URL with a host, as Medusa's label validator (zod `url()`) takes it;
    a prefix alone (`https://` followed by spaces or nothing) is not one."""
    if not value or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    try:
        url = _HTTP_URL.validate_python(value)
    except ValidationError:
        return False
    return bool(url.host)


class MedusaAdminApi:
    """POSTs to Medusa's Admin API with the secret key (HTTP Basic, as Medusa v2 wants)."""

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

    @property
    def _headers(self) -> dict[str, str]:
        # Medusa v2 takes a secret API key only as HTTP Basic with the raw key.
        return {"Authorization": f"Basic {self._secret_key.get_secret_value()}"}

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """The answer, 2xx or not; a transport failure is a retried `DeliveryError`."""
        try:
            return await self._http.post(path, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc

    async def get(self, path: str, params: httpx.QueryParams) -> httpx.Response:
        """The answer, 2xx or not; a transport failure is a retried `DeliveryError`."""
        try:
            return await self._http.get(path, params=params, headers=self._headers)
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc

    async def missing(self, order_id: str, fulfillment_id: str) -> str | None:
        """Why Medusa can never take a message for this fulfillment (it has no such order,
        or the order has no such fulfillment), or None when it has it or cannot say."""
        try:
            response = await self._http.get(
                f"/admin/orders/{quote(order_id, safe='')}",
                params={"fields": "id,fulfillments.id"},
                headers=self._headers,
            )
        except httpx.HTTPError:
            return None
        if response.status_code == 404:
            return f"Medusa has no order {order_id}"
        if not response.is_success:
            return None
        try:
            order = response.json().get("order")
        except (ValueError, AttributeError):
            return None
        fulfillments = order.get("fulfillments") if isinstance(order, dict) else None
        if not isinstance(fulfillments, list):
            return None
        ids = {f.get("id") for f in fulfillments if isinstance(f, dict)}
        if fulfillment_id in ids:
            return None
        return f"Medusa's order {order_id} has no fulfillment {fulfillment_id}"


def refusal(response: httpx.Response, reason: str) -> DeliveryError:
    status = response.status_code
    if status in (401, 403):
        return DeliveryError(f"Medusa refused MEDUSA_SECRET_KEY: {reason}", auth=True)
    permanent = 400 <= status < 500 and status not in _RETRIED
    return DeliveryError(reason, permanent=permanent, status=status)


class MedusaSink:
    """A sink on Medusa's Admin API; each sink has its own client and its own outbox rows."""

    def __init__(
        self,
        base_url: str,
        secret_key: SecretStr,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._api = MedusaAdminApi(base_url, secret_key, http=http)

    async def aclose(self) -> None:
        await self._api.aclose()

    async def _send(self, path: str, body: dict[str, Any]) -> DeliveryOutcome:
        """POST `body`: delivered on a 2xx; any other answer goes to `_refused`."""
        response = await self._api.post(path, body)
        if response.is_success:
            return DeliveryOutcome.delivered
        return self._refused(response, response_reason(response), path)

    def _refused(self, response: httpx.Response, reason: str, path: str) -> DeliveryOutcome:
        """What a sink makes of Medusa's non-2xx answer to `path`: by default `refusal`."""
        raise refusal(response, reason)


class MedusaAdminSink(MedusaSink):
    name = "medusa"
    events = frozenset(
        {
            NotificationEvent.shipped,
            NotificationEvent.tracking_updated,
            NotificationEvent.delivered,
            NotificationEvent.failed,
            NotificationEvent.cancelled,
        }
    )

    async def deliver(self, delivery: Delivery) -> DeliveryOutcome:
        notification = delivery.notification
        data = notification.data
        fulfillment_path = (
            f"/admin/orders/{quote(data.order_id, safe='')}"
            f"/fulfillments/{quote(data.external_id, safe='')}"
        )
        body: dict[str, Any]
        if delivery.event in _ENDED:
            if data.change_source == "api":
                return DeliveryOutcome.skipped
            path, body = f"{fulfillment_path}/cancel", {}
        elif delivery.event is NotificationEvent.delivered:
            path, body = f"{fulfillment_path}/mark-as-delivered", {}
        elif delivery.event is NotificationEvent.tracking_updated and not data.tracking:
            return DeliveryOutcome.skipped
        else:
            path, body = f"{fulfillment_path}/shipments", shipment_body(notification)
        try:
            return await self._send(path, body)
        except DeliveryError as error:
            if delivery.event in _ENDED and _NOTHING_TO_CANCEL in error.reason:
                return DeliveryOutcome.skipped
            if error.permanent or error.auth or not error.server_error:
                raise
            gone = await self._api.missing(data.order_id, data.external_id)
            if gone is None:
                raise
            reason = f"{gone}; Medusa answered {error.reason}"
            raise DeliveryError(reason, permanent=True) from error

    def _refused(self, response: httpx.Response, reason: str, path: str) -> DeliveryOutcome:
        if response.status_code == 400 and any(marker in reason for marker in _ALREADY_DONE):
            return DeliveryOutcome.already_done
        raise refusal(response, reason)


def cj_data_body(notification: FulfillmentNotification) -> dict[str, Any]:
    """The plugin route's body: the CJ side of the fulfillment after the change."""
    data = notification.data
    return {
        "id": data.id,
        "status": data.status,
        "status_reason": data.status_reason,
        "cj_order_id": data.cj_order_id,
        "cj_order_number": data.cj_order_number,
        "cj_status": data.cj_status,
        "logistic_name": data.logistic_name,
        "tracking": [label.model_dump(mode="json") for label in data.tracking],
        "updated_at": data.updated_at.isoformat(),
    }


class MedusaDataSink(MedusaSink):
    name = "medusa_data"
    events = frozenset(NotificationEvent)

    async def deliver(self, delivery: Delivery) -> DeliveryOutcome:
        notification = delivery.notification
        external_id = quote(notification.data.external_id, safe="")
        path = f"/admin/cj-fulfillment/fulfillments/{external_id}/cj-data"
        return await self._send(path, cj_data_body(notification))

    def _refused(self, response: httpx.Response, reason: str, path: str) -> DeliveryOutcome:
        if response.status_code == 404 and not _is_medusa_error(response):
            reason = (
                f"{reason} (Medusa has no route {path}: add the medusa-fulfillment-cj plugin "
                "to medusa-config.ts `plugins`, or set MEDUSA_FULFILLMENT_DATA=false)"
            )[:300]
        raise refusal(response, reason)


def _is_medusa_error(response: httpx.Response) -> bool:
    """Medusa's own errors are JSON with a `type` (e.g. `not_found`); a missing route is not."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("type"), str)
