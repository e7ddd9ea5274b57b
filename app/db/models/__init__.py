"""ORM models, one module per aggregate; importing this package registers them all."""

from app.db.models.catalogue import CatalogueProduct, StockRefresh, VariantStock
from app.db.models.cj_token import CJToken
from app.db.models.fulfillment import (
    FULFILLMENT_STATUSES,
    Fulfillment,
    FulfillmentEvent,
    FulfillmentItem,
)
from app.db.models.idempotency import IdempotencyKey
from app.db.models.outbox_message import OUTBOX_STATUSES, OutboxMessage
from app.db.models.parcel import FulfillmentParcel
from app.db.models.sku_mapping import SkuMapping
from app.db.models.webhook_inbox import INBOX_STATUSES, WebhookInboxMessage

__all__ = [
    "FULFILLMENT_STATUSES",
    "INBOX_STATUSES",
    "OUTBOX_STATUSES",
    "CJToken",
    "CatalogueProduct",
    "Fulfillment",
    "FulfillmentEvent",
    "FulfillmentItem",
    "FulfillmentParcel",
    "IdempotencyKey",
    "OutboxMessage",
    "SkuMapping",
    "StockRefresh",
    "VariantStock",
    "WebhookInboxMessage",
]
