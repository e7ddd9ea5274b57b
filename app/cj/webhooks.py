"""CJ's webhook messages: the envelope, the ORDER and LOGISTIC payloads, and the `sign` header.

Every field but the envelope's is optional: CJ's samples are full of nulls. Ids are kept
as strings (`cjOrderId` arrives as a JSON number above 2**53; `json.loads` keeps it exact).
ORDER says `trackNumber`, LOGISTIC says `trackingNumber`, and `logisticsTrackEvents` is a
JSON string (sometimes a list): both are read here, so the rest of the service never sees
the quirks. Every string that reaches a column is bounded here by that column's size, so
an over-long or oddly typed value makes the message malformed, never a database error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.cj.models import CJId, CJModel

ORDER = "ORDER"
LOGISTIC = "LOGISTIC"
ORDERSPLIT = "ORDERSPLIT"
ORDER_CONNECTED = "ORDER_CONNNECTED"  # sic: CJ spells it with three Ns
DELIVERED_TRACKING_STATUS = 12
EXCEPTION_TRACKING_STATUS = 13  # "failure / exception"
RETURNED_TRACKING_STATUS = 14
# LOGISTIC trackingStatus 1..11: the parcel has left the warehouse and is on its way.
IN_TRANSIT_TRACKING_STATUSES = frozenset(range(1, 12))
MESSAGE_ID_MAX = 200

# Sizes of the columns these values are stored in (app/db/models/fulfillment.py).
WebhookId = Annotated[CJId, Field(max_length=64)]
OrderNumber = Annotated[str, Field(max_length=50)]
CJStatusText = Annotated[str, Field(max_length=32)]
LogisticName = Annotated[str, Field(max_length=128)]
TrackingNumberText = Annotated[str, Field(max_length=128)]
Url = Annotated[str, Field(max_length=2048)]

ACK = {"code": 200, "result": "success", "message": "received"}


def expected_sign(raw_body: bytes, open_id: str) -> str:
    """base64(HMAC-SHA256(raw body, key = the account's openId as a string))."""
    mac = hmac.new(open_id.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def sign_matches(raw_body: bytes, sign: str | None, open_id: str) -> bool:
    if not sign:
        return False
    given = sign.strip().encode("utf-8", errors="surrogateescape")
    return hmac.compare_digest(expected_sign(raw_body, open_id).encode(), given)


class WebhookEnvelope(BaseModel):
    """`{messageId, type, messageType, openId?, params}`; unknown fields are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    message_id: str = Field(alias="messageId", min_length=1, max_length=MESSAGE_ID_MAX)
    type: str = Field(min_length=1, max_length=32)
    message_type: str | None = Field(default=None, alias="messageType", max_length=32)
    open_id: CJId | None = Field(default=None, alias="openId")
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("message_id", mode="before")
    @classmethod
    def _message_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class MalformedWebhook(ValueError):
    """A body that is not a CJ webhook message; the text says what is wrong with it."""


_NUL = re.compile(r"\\u0000", re.IGNORECASE)  # Postgres text cannot hold it


def read_envelope(raw: bytes | str) -> WebhookEnvelope:
    """The message in a raw body; MalformedWebhook for anything else (not JSON, nested
    too deep for the parser, not an object, fields of the wrong type or size)."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        kind = "nested too deeply" if isinstance(exc, RecursionError) else "not JSON"
        raise MalformedWebhook(f"the body is {kind}") from None
    if _NUL.search(raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")):
        raise MalformedWebhook("the body has a NUL character (\\u0000)")
    try:
        return WebhookEnvelope.model_validate(document)
    except (ValidationError, RecursionError) as exc:
        raise MalformedWebhook(f"not a CJ webhook message: check {_fields(exc)}") from None


def message_id_of(raw: bytes | str) -> str | None:
    """The messageId of a malformed body, when it has a usable one (its retries are then
    stored once)."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    value = document.get("messageId") if isinstance(document, dict) else None
    if isinstance(value, str) and 0 < len(value) <= MESSAGE_ID_MAX and value.isprintable():
        return value
    return None


def _fields(exc: Exception) -> str:
    if not isinstance(exc, ValidationError):
        return "body (nested too deeply)"
    return ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors())


def params_error(exc: ValidationError) -> str:
    """Why a message's `params` are not what CJ sends, in words."""
    return f"not a CJ webhook message: check params.{_fields(exc)}"


class TrackEvent(CJModel):
    status: int | str | None = None
    activity: str | None = None
    location: str | None = None
    event_time: str | None = Field(default=None, alias="eventTime")
    status_desc: str | None = Field(default=None, alias="statusDesc")


def _events(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class OrderMessage(CJModel):
    """ORDER `params`."""

    order_number: OrderNumber | None = Field(default=None, alias="orderNumber")
    order_num: OrderNumber | None = Field(default=None, alias="orderNum")
    cj_order_id: WebhookId | None = Field(default=None, alias="cjOrderId")
    order_status: CJStatusText | None = Field(default=None, alias="orderStatus")
    logistic_name: LogisticName | None = Field(default=None, alias="logisticName")
    track_number: TrackingNumberText | None = Field(default=None, alias="trackNumber")
    tracking_url: Url | None = Field(default=None, alias="trackingUrl")
    tracking_provider: LogisticName | None = Field(default=None, alias="trackingProvider")

    _blank = field_validator(
        "order_number", "order_num", "order_status", "track_number", "tracking_url", mode="before"
    )(_blank_is_none)

    @field_validator("order_status", mode="before")
    @classmethod
    def _status_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def our_order_number(self) -> str | None:
        return self.order_number or self.order_num


class LogisticMessage(CJModel):
    """LOGISTIC `params`; `orderId` is CJ's order id, not our order number."""

    order_id: WebhookId | None = Field(default=None, alias="orderId")
    logistic_name: LogisticName | None = Field(default=None, alias="logisticName")
    tracking_number: TrackingNumberText | None = Field(default=None, alias="trackingNumber")
    tracking_status: int | None = Field(default=None, alias="trackingStatus")
    tracking_url: Url | None = Field(default=None, alias="trackingUrl")
    tracking_provider: LogisticName | None = Field(default=None, alias="trackingProvider")
    events: list[TrackEvent] = Field(default_factory=list, alias="logisticsTrackEvents")
    store_order_numbers: list[OrderNumber] = Field(
        default_factory=list, alias="storeOrderNumbers", max_length=20
    )

    _blank = field_validator("tracking_number", "tracking_url", mode="before")(_blank_is_none)
    _parse_events = field_validator("events", mode="before")(_events)

    @field_validator("tracking_status", mode="before")
    @classmethod
    def _status_number(cls, value: Any) -> Any:
        if isinstance(value, str):
            return int(value) if value.strip().isdigit() else None
        return value

    @field_validator("store_order_numbers", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or []


class SplitOrder(CJModel):
    """One order of an ORDERSPLIT's `splitOrderList`: a parcel of the original order."""

    order_code: WebhookId = Field(alias="orderCode")
    order_status: int | CJStatusText | None = Field(default=None, alias="orderStatus")


class OrderSplitMessage(CJModel):
    """ORDERSPLIT `params`: CJ split `originalOrderId` into the orders of `splitOrderList`."""

    original_order_id: WebhookId = Field(alias="originalOrderId")
    split_orders: list[SplitOrder] = Field(
        default_factory=list, alias="splitOrderList", max_length=50
    )
