"""CJ's webhook messages: the envelope, the ORDER and LOGISTIC payloads, and the `sign` header.

Every field but the envelope's is optional: CJ's samples are full of nulls. Ids are kept
as strings (`cjOrderId` arrives as a JSON number above 2**53; `json.loads` keeps it exact).
ORDER says `trackNumber`, LOGISTIC says `trackingNumber`, and `logisticsTrackEvents` is a
JSON string (sometimes a list): both are read here, so the rest of the service never sees
the quirks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.cj.models import CJId, CJModel

ORDER = "ORDER"
LOGISTIC = "LOGISTIC"
ORDER_CONNECTED = "ORDER_CONNNECTED"  # sic: CJ spells it with three Ns
DELIVERED_TRACKING_STATUS = 12
# LOGISTIC trackingStatus 1..11: the parcel has left the warehouse and is on its way.
IN_TRANSIT_TRACKING_STATUSES = frozenset(range(1, 12))

ACK = {"code": 200, "result": "success", "message": "received"}


def expected_sign(raw_body: bytes, open_id: str) -> str:
    """base64(HMAC-SHA256(raw body, key = the account's openId as a string))."""
    mac = hmac.new(open_id.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def sign_matches(raw_body: bytes, sign: str | None, open_id: str) -> bool:
    if not sign:
        return False
    return hmac.compare_digest(expected_sign(raw_body, open_id), sign.strip())


class WebhookEnvelope(BaseModel):
    """`{messageId, type, messageType, openId?, params}`; unknown fields are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    message_id: str = Field(alias="messageId", min_length=1, max_length=128)
    type: str = Field(min_length=1, max_length=32)
    message_type: str | None = Field(default=None, alias="messageType", max_length=32)
    open_id: CJId | None = Field(default=None, alias="openId")
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("message_id", mode="before")
    @classmethod
    def _message_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


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

    order_number: str | None = Field(default=None, alias="orderNumber")
    order_num: str | None = Field(default=None, alias="orderNum")
    cj_order_id: CJId | None = Field(default=None, alias="cjOrderId")
    order_status: str | None = Field(default=None, alias="orderStatus")
    logistic_name: str | None = Field(default=None, alias="logisticName")
    track_number: str | None = Field(default=None, alias="trackNumber")
    tracking_url: str | None = Field(default=None, alias="trackingUrl")
    tracking_provider: str | None = Field(default=None, alias="trackingProvider")

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

    order_id: CJId | None = Field(default=None, alias="orderId")
    logistic_name: str | None = Field(default=None, alias="logisticName")
    tracking_number: str | None = Field(default=None, alias="trackingNumber")
    tracking_status: int | None = Field(default=None, alias="trackingStatus")
    tracking_url: str | None = Field(default=None, alias="trackingUrl")
    tracking_provider: str | None = Field(default=None, alias="trackingProvider")
    events: list[TrackEvent] = Field(default_factory=list, alias="logisticsTrackEvents")
    store_order_numbers: list[str] = Field(default_factory=list, alias="storeOrderNumbers")

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
