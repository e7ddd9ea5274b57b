"""A fulfillment as a notification: everything a sink needs, frozen at the change."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from app.db.models import Fulfillment, FulfillmentItem
from app.sinks.notification import (
    FulfillmentNotification,
    FulfillmentSnapshot,
    NotificationEvent,
    NotificationItem,
    TrackingLabel,
)


def tracking_labels(entries: Iterable[Any]) -> list[TrackingLabel]:
    """The fulfillment's tracking list as labels, in order, once per number."""
    labels: dict[str, TrackingLabel] = {}
    for entry in entries:
        try:
            label = TrackingLabel.model_validate(entry)
        except ValidationError:
            continue
        labels.setdefault(label.number, label)
    return list(labels.values())


def build_notification(
    fulfillment: Fulfillment,
    items: Sequence[FulfillmentItem],
    event: NotificationEvent,
    occurred_at: datetime,
    *,
    source: str | None = None,
) -> FulfillmentNotification:
    return FulfillmentNotification(
        id=f"evt_{uuid.uuid4().hex}",
        type=event.webhook_type,
        timestamp=occurred_at,
        data=FulfillmentSnapshot(
            id=fulfillment.id,
            external_id=fulfillment.external_id,
            order_id=fulfillment.order_id,
            option_id=fulfillment.option_id,
            status=fulfillment.status,
            status_reason=fulfillment.status_reason,
            cj_order_id=fulfillment.cj_order_id,
            cj_order_number=fulfillment.cj_order_number,
            cj_status=fulfillment.cj_status,
            logistic_name=fulfillment.logistic_name,
            items=[
                NotificationItem(
                    line_item_id=item.line_item_id, sku=item.sku, quantity=item.quantity
                )
                for item in items
            ],
            tracking=tracking_labels(fulfillment.tracking or []),
            created_at=fulfillment.created_at,
            updated_at=fulfillment.updated_at,
            change_source=source,
        ),
    )
