"""What a store hears about a fulfillment: the notification payload (a public contract).

The payload is built when the change is written and stored in the outbox row, so a
delivery days later still says what was true then, without reading mutable state. The
generic webhook sends it as is; the Medusa sink reads what it needs from it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class NotificationEvent(StrEnum):
    """The changes a store cares about (the outbox's `event_type`)."""

    cj_order_created = "cj_order_created"
    tracking_updated = "tracking_updated"
    tracking_exception = "tracking_exception"  # CJ: trackingStatus 13, a problem in transit
    returned = "returned"  # CJ: trackingStatus 14, the parcel went back to the sender
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    failed = "failed"
    intercepted = "intercepted"
    dispute_rejected = "dispute_rejected"
    dispute_undecided = "dispute_undecided"
    payment_failed = "payment_failed"

    @property
    def webhook_type(self) -> str:
        return f"fulfillment.{self.value}"


class TrackingLabel(BaseModel):
    """One parcel's tracking; `number` is CJ's tracking number."""

    model_config = ConfigDict(extra="ignore")

    number: str = Field(min_length=1)
    carrier: str | None = None
    url: str | None = None
    last_mile_number: str | None = Field(
        default=None, description="the last-mile carrier's own number (CJ's lastTrackNumber)"
    )
    problem: str | None = Field(
        default=None, description="`exception` or `returned` when CJ reported one"
    )


class NotificationItem(BaseModel):
    line_item_id: str = Field(description="The store's order line item id (Medusa `ordli_…`)")
    sku: str | None
    quantity: int = Field(gt=0)


class FulfillmentSnapshot(BaseModel):
    id: str = Field(description="Our fulfillment id")
    external_id: str = Field(description="The store's fulfillment id (Medusa `ful_…`)")
    order_id: str = Field(description="The store's order id (Medusa `order_…`)")
    option_id: str
    status: str = Field(description="Our status after the change")
    status_reason: str | None = Field(description="Why it failed or was cancelled, in words")
    cj_order_id: str | None
    cj_order_number: str
    cj_status: str | None
    logistic_name: str | None
    items: list[NotificationItem]
    tracking: list[TrackingLabel] = Field(description="Every tracking number known so far")
    created_at: datetime
    updated_at: datetime
    change_source: str | None = Field(
        default=None,
        description=(
            "What made the change, when it is a status change: `api` (asked through this "
            "service's API, e.g. the store cancelling through its provider), `webhook` / "
            "`webhook_confirmed` / `poller` / `cj_lookup` (CJ said so), `cj_dispute` (CJ "
            "decided a refund dispute), `payment_retry`, `worker`"
        ),
    )


class FulfillmentNotification(BaseModel):
    """The body of a generic webhook, in the Standard Webhooks shape `{type, timestamp, data}`."""

    id: str = Field(description="Unique per event and stable across retries (= `webhook-id`)")
    type: str = Field(description="`fulfillment.` + the event, e.g. `fulfillment.shipped`")
    timestamp: datetime = Field(description="When the change happened (RFC 3339, UTC)")
    data: FulfillmentSnapshot
