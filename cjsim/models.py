"""Records the simulator keeps (orders, disputes) and their CJ-shaped JSON views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cjsim.catalog import tracking_url
from cjsim.envelope import money

CREATED = "CREATED"
IN_CART = "IN_CART"
UNPAID = "UNPAID"
UNSHIPPED = "UNSHIPPED"
SHIPPED = "SHIPPED"
DELIVERED = "DELIVERED"
CANCELLED = "CANCELLED"

# The forward path of an order; CANCELLED is reachable from any non-final state.
ORDER_FLOW = (CREATED, IN_CART, UNPAID, UNSHIPPED, SHIPPED, DELIVERED)
ALL_STATUSES = (*ORDER_FLOW, CANCELLED)
# Seed 004 §1.8: only CREATED and IN_CART orders can be deleted; once confirmed (UNPAID)
# or later, deleteOrder refuses.
DELETABLE = frozenset({CREATED, IN_CART})
PAID = frozenset({UNSHIPPED, SHIPPED, DELIVERED})

# Integer trackingStatus used by LOGISTIC webhooks (0-14), per order status.
LOGISTIC_TRACKING_STATUS = {SHIPPED: 5, DELIVERED: 12}

DISPUTE_REASONS: tuple[tuple[int, str], ...] = (
    (3, "Product Quality Issue"),
    (1, "Unfulfilled Order Cancellation"),
    (2, "Package Not Received"),
    (4, "Wrong Product Received"),
    (5, "Damaged Product"),
)


def cj_time(value: datetime | None) -> str | None:
    """CJ's order timestamps: `yyyy-MM-dd HH:mm:ss` (UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else None


@dataclass
class OrderItem:
    vid: str
    sku: str
    quantity: int
    sell_price: Decimal
    line_item_id: str
    store_line_item_id: str | None
    # createOrder's podProperties as sent (a JSON string, seed 004 §1.1)
    pod_properties: str | None = None

    def product_list_entry(self) -> dict[str, Any]:
        return {
            "vid": self.vid,
            "quantity": self.quantity,
            "sellPrice": self.sell_price,
            "lineItemId": self.line_item_id,
            "storeLineItemId": self.store_line_item_id,
            "productionOrderStatus": None,
            "abnormalType": None,
            "podPropertiesInfo": None,
        }


@dataclass
class Order:
    cj_id: str
    order_number: str
    shipment_order_id: str
    api_key: str
    open_id: int
    status: str
    logistic_name: str
    from_country: str
    shipping: dict[str, str | None]
    items: list[OrderItem]
    weight_g: int
    product_amount: Decimal
    postage_amount: Decimal
    is_sandbox: bool
    created_at: datetime
    updated_at: datetime
    pay_type: int | None = None
    remark: str | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    track_number: str | None = None
    dispute_id: str | None = None
    sandbox_status: int | None = None
    pay_id: str | None = None
    # interceptOrderReasons CJ answered at creation ([{code, message}]).
    intercept_reasons: list[dict[str, Any]] | None = None
    # Non-CJ SKUs (seed 004 §1.1): createOrder does not return the CJ order id.
    id_withheld: bool = False

    @property
    def order_amount(self) -> Decimal:
        return money(self.product_amount + self.postage_amount)

    @property
    def tracking_url(self) -> str | None:
        return tracking_url(self.track_number) if self.track_number else None

    def create_result(self, cj_pay_url: str | None) -> dict[str, Any]:
        """The `data` of createOrderV2/V3."""
        zero = Decimal("0.00")
        result: dict[str, Any] = {
            "orderId": self.cj_id,
            "orderNumber": self.order_number,
            "shipmentOrderId": self.shipment_order_id,
            "iossAmount": None,
            "iossTaxHandlingFee": None,
            "postageAmount": self.postage_amount,
            "productAmount": self.product_amount,
            "productOriginalAmount": self.product_amount,
            "productDiscountAmount": zero,
            "postageDiscountAmount": zero,
            "postageOriginalAmount": self.postage_amount,
            "totalDiscountAmount": zero,
            "actualPayment": self.order_amount,
            "orderOriginalAmount": self.order_amount,
            "orderAmount": self.order_amount,
            "cjPayUrl": cj_pay_url,
            "logisticsMiss": False,
            "orderStatus": self.status,
            "productInfoList": [
                {
                    "storeLineItemId": item.store_line_item_id,
                    "lineItemId": item.line_item_id,
                    "variantId": item.vid,
                    "quantity": item.quantity,
                    "isGroup": False,
                    "subOrderProducts": [],
                }
                for item in self.items
            ],
            "interceptOrderReasons": list(self.intercept_reasons or []),
        }
        if self.id_withheld:
            del result["orderId"]
        return result

    def detail(self) -> dict[str, Any]:
        """The `data` of getOrderDetail (also the items of order/list).

        Like CJ's documented sample, `cjOrderId` is null here: `orderId` holds the CJ id.
        """
        return {
            "orderId": self.cj_id,
            "orderNum": self.order_number,
            "orderNumber": self.order_number,
            "cjOrderId": None,
            "shipmentOrderId": self.shipment_order_id,
            "platformOrderId": None,
            "fromCountryCode": self.from_country,
            "shippingCountryCode": self.shipping.get("shippingCountryCode"),
            "shippingCountry": self.shipping.get("shippingCountry"),
            "shippingProvince": self.shipping.get("shippingProvince"),
            "shippingCity": self.shipping.get("shippingCity"),
            "shippingAddress": self.shipping.get("shippingAddress"),
            "shippingAddress2": self.shipping.get("shippingAddress2"),
            "shippingZip": self.shipping.get("shippingZip"),
            "shippingPhone": self.shipping.get("shippingPhone"),
            "shippingCustomerName": self.shipping.get("shippingCustomerName"),
            "remark": self.remark,
            "orderWeight": self.weight_g,
            "orderStatus": self.status,
            "orderAmount": self.order_amount,
            "productAmount": self.product_amount,
            "postageAmount": self.postage_amount,
            "logisticName": self.logistic_name,
            "trackNumber": self.track_number,
            "trackingUrl": self.tracking_url,
            "createDate": cj_time(self.created_at),
            "paymentDate": cj_time(self.paid_at),
            "outWarehouseTime": cj_time(self.shipped_at),
            "isComplete": 1,
            "isSandbox": 1 if self.is_sandbox else 0,
            "disputeId": self.dispute_id,
            "storageId": None,
            "storageName": None,
            "productList": [item.product_list_entry() for item in self.items],
        }


@dataclass
class Dispute:
    dispute_id: str
    business_dispute_id: str
    order_id: str
    order_number: str
    reason_id: int
    expect_type: int
    refund_type: int | None
    amount: Decimal
    message_text: str | None
    products: list[dict[str, Any]]
    created_at: datetime
    status: str = "PROCESSING"
    finally_deal: int | None = None

    def public(self) -> dict[str, Any]:
        reason = dict(DISPUTE_REASONS).get(self.reason_id)
        return {
            "id": self.dispute_id,
            "disputeId": self.dispute_id,
            "businessDisputeId": self.business_dispute_id,
            "orderId": self.order_id,
            "orderNumber": self.order_number,
            "disputeReasonId": self.reason_id,
            "disputeReason": reason,
            "expectType": self.expect_type,
            "refundType": self.refund_type,
            "status": self.status,
            "finallyDeal": self.finally_deal,
            "money": self.amount,
            "messageText": self.message_text,
            "createDate": cj_time(self.created_at),
            "productInfoList": self.products,
        }
