"""CJ wire models. Unknown fields are tolerated (CJ adds fields often); never returned by our API.

Ids are kept as strings: CJ sends some as JSON numbers above 2**53.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator


def _id_to_str(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _money(value: Any) -> Any:
    """Numbers as Decimal; CJ's samples send "" for an amount it has not computed."""
    if isinstance(value, str) and not value.strip():
        return None
    return Decimal(str(value)) if isinstance(value, int | float) else value


def _flag(value: Any) -> Any:
    """CJ's Boolean flags arrive as booleans, "" (unset) or strings."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


CJId = Annotated[str, BeforeValidator(_id_to_str)]
Money = Annotated[Decimal | None, BeforeValidator(_money)]
Flag = Annotated[bool, BeforeValidator(_flag)]


class CJModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Priority(IntEnum):
    """Who gets CJ's scarce requests first: checkout, then orders, then warming the rate
    cache with the quotes checkouts missed, then polling, then the catalogue (adding
    products, checking mappings, reading stock)."""

    checkout = 0
    orders = 1
    warming = 2
    polling = 3
    catalogue = 4


class AccessToken(CJModel):
    access_token: str = Field(alias="accessToken")
    access_token_expires_at: datetime = Field(alias="accessTokenExpiryDate")
    refresh_token: str = Field(alias="refreshToken")
    refresh_token_expires_at: datetime = Field(alias="refreshTokenExpiryDate")
    open_id: CJId | None = Field(default=None, alias="openId")


class FreightProduct(CJModel):
    vid: str
    quantity: int = Field(gt=0)


class FreightRequest(CJModel):
    start_country_code: str = Field(serialization_alias="startCountryCode")
    end_country_code: str = Field(serialization_alias="endCountryCode")
    zip: str | None = None
    products: list[FreightProduct]


class FreightQuote(CJModel):
    logistic_name: str = Field(alias="logisticName")
    logistic_aging: str | None = Field(default=None, alias="logisticAging")
    logistic_price: Money | None = Field(default=None, alias="logisticPrice")
    taxes_fee: Money | None = Field(default=None, alias="taxesFee")
    clearance_operation_fee: Money | None = Field(default=None, alias="clearanceOperationFee")
    total_postage_fee: Money | None = Field(default=None, alias="totalPostageFee")

    @property
    def price(self) -> Decimal:
        """max(totalPostageFee, logisticPrice + taxesFee + clearanceOperationFee), nulls as 0.

        CJ sometimes sends totalPostageFee 0 as a placeholder while logisticPrice is set.
        """
        parts = (self.logistic_price, self.taxes_fee, self.clearance_operation_fee)
        summed = sum((p or Decimal(0) for p in parts), Decimal(0))
        return max(self.total_postage_fee or Decimal(0), summed)

    @property
    def eta_days(self) -> tuple[int, int] | None:
        """`logisticAging` "a-b" (sometimes with words around it) as (a, b)."""
        numbers = [int(n) for n in re.findall(r"\d+", self.logistic_aging or "")]
        if not numbers:
            return None
        return (min(numbers[0], numbers[-1]), max(numbers[0], numbers[-1]))


class OrderProduct(CJModel):
    vid: str
    quantity: int = Field(gt=0)
    store_line_item_id: str | None = Field(default=None, serialization_alias="storeLineItemId")
    pod_properties: str | None = Field(default=None, serialization_alias="podProperties")


class CreateOrderRequest(CJModel):
    order_number: str = Field(serialization_alias="orderNumber")
    shipping_country_code: str = Field(serialization_alias="shippingCountryCode")
    shipping_country: str = Field(serialization_alias="shippingCountry")
    shipping_province: str = Field(serialization_alias="shippingProvince")
    shipping_city: str = Field(serialization_alias="shippingCity")
    shipping_customer_name: str = Field(serialization_alias="shippingCustomerName")
    shipping_address: str = Field(serialization_alias="shippingAddress")
    shipping_address2: str | None = Field(default=None, serialization_alias="shippingAddress2")
    shipping_zip: str | None = Field(default=None, serialization_alias="shippingZip")
    shipping_phone: str | None = Field(default=None, serialization_alias="shippingPhone")
    email: str | None = None
    logistic_name: str = Field(serialization_alias="logisticName")
    from_country_code: str = Field(serialization_alias="fromCountryCode")
    products: list[OrderProduct]
    pay_type: int | None = Field(default=None, serialization_alias="payType")
    is_sandbox: int | None = Field(default=None, serialization_alias="isSandbox")
    remark: str | None = None
    platform: str | None = None


class InterceptReason(CJModel):
    code: int | str | None = None
    message: str | None = None


class CreatedOrder(CJModel):
    """createOrderV2's `data`. `orderId` is absent for non-CJ SKUs (seed 004 §1.1)."""

    order_id: CJId | None = Field(default=None, alias="orderId")
    order_number: str | None = Field(default=None, alias="orderNumber")
    order_status: str | None = Field(default=None, alias="orderStatus")
    shipment_order_id: CJId | None = Field(default=None, alias="shipmentOrderId")
    order_amount: Money | None = Field(default=None, alias="orderAmount")
    cj_pay_url: str | None = Field(default=None, alias="cjPayUrl")
    logistics_miss: Flag = Field(default=False, alias="logisticsMiss")
    intercept_order_reasons: list[InterceptReason] = Field(
        default_factory=list, alias="interceptOrderReasons"
    )

    @field_validator("intercept_order_reasons", mode="before")
    @classmethod
    def _no_reasons(cls, value: Any) -> Any:
        return value or []


class OrderDetail(CJModel):
    order_id: CJId | None = Field(default=None, alias="orderId")
    cj_order_id: CJId | None = Field(default=None, alias="cjOrderId")
    order_number: str | None = Field(default=None, alias="orderNumber")
    order_num: str | None = Field(default=None, alias="orderNum")
    order_status: str | None = Field(default=None, alias="orderStatus")
    logistic_name: str | None = Field(default=None, alias="logisticName")
    track_number: str | None = Field(default=None, alias="trackNumber")
    tracking_url: str | None = Field(default=None, alias="trackingUrl")
    dispute_id: CJId | None = Field(default=None, alias="disputeId")
    order_amount: Money | None = Field(default=None, alias="orderAmount")
    shipment_order_id: CJId | None = Field(default=None, alias="shipmentOrderId")
    product_list: list[dict[str, Any]] = Field(default_factory=list, alias="productList")

    @property
    def cj_id(self) -> str | None:
        """CJ's id: `orderId` holds it even when `cjOrderId` comes back null."""
        return self.cj_order_id or self.order_id


class Balance(CJModel):
    amount: Money | None = None
    no_withdrawal_amount: Money | None = Field(default=None, alias="noWithdrawalAmount")
    freeze_amount: Money | None = Field(default=None, alias="freezeAmount")


class CartAdded(CJModel):
    """addCart: the orders it took (`addSuccessOrders`) and those it stopped."""

    success_count: int = Field(default=0, alias="successCount")
    added: list[CJId] = Field(default_factory=list, alias="addSuccessOrders")
    intercepted: list[Any] = Field(default_factory=list, alias="interceptOrders")


class CartConfirmed(CJModel):
    """addCartConfirm: `shipmentsId` is the parent (shipment) order to pay."""

    success_count: int = Field(default=0, alias="successCount")
    submit_success: bool | None = Field(default=None, alias="submitSuccess")
    shipments_id: CJId | None = Field(default=None, alias="shipmentsId")
    intercepted: list[Any] = Field(default_factory=list, alias="interceptOrders")


class ParentOrder(CJModel):
    """saveGenerateParentOrder: what payBalanceV2 needs and how much it will take."""

    pay_id: CJId | None = Field(default=None, alias="payId")
    order_money: Money | None = Field(default=None, alias="orderMoney")
    submit_success: bool | None = Field(default=None, alias="submitSuccess")
    intercepted: list[Any] = Field(default_factory=list, alias="interceptOrders")


class TrackInfo(CJModel):
    tracking_number: str = Field(alias="trackingNumber")
    logistic_name: str | None = Field(default=None, alias="logisticName")
    tracking_status: str | int | None = Field(default=None, alias="trackingStatus")
    delivery_time: str | None = Field(default=None, alias="deliveryTime")
    last_mile_carrier: str | None = Field(default=None, alias="lastMileCarrier")
    last_track_number: str | None = Field(default=None, alias="lastTrackNumber")


class AccountSettings(CJModel):
    open_id: CJId | None = Field(default=None, alias="openId")
    qps_limit: int | None = Field(default=None, alias="qpsLimit")
    is_sandbox: bool | None = Field(default=None, alias="isSandbox")
    quota_limits: Any = Field(default=None, alias="quotaLimits")

    @model_validator(mode="before")
    @classmethod
    def _lift_setting(cls, data: Any) -> Any:
        """CJ's sample nests qpsLimit and quotaLimits under `setting`; accept both shapes."""
        if isinstance(data, dict) and isinstance(data.get("setting"), dict):
            return {**data["setting"], **{k: v for k, v in data.items() if k != "setting"}}
        return data


class DisputeProduct(CJModel):
    line_item_id: CJId = Field(alias="lineItemId")
    quantity: int = 1
    price: Money | None = None
    can_choose: bool | None = Field(default=None, alias="canChoose")


class DisputeReason(CJModel):
    dispute_reason_id: int = Field(alias="disputeReasonId")
    reason_name: str = Field(alias="reasonName")


class DisputeConfirmInfo(CJModel):
    max_amount: Money | None = Field(default=None, alias="maxAmount")
    expect_result_option_list: list[Any] = Field(
        default_factory=list, alias="expectResultOptionList"
    )
    dispute_reason_list: list[DisputeReason] = Field(
        default_factory=list, alias="disputeReasonList"
    )


class DisputeRecord(CJModel):
    """One entry of getDisputeList. `finallyDeal`: 1 refund, 2 reissue, 3 reject (None
    while CJ has not decided)."""

    dispute_id: CJId | None = Field(default=None, alias="disputeId")
    id: CJId | None = None
    business_dispute_id: str | None = Field(default=None, alias="businessDisputeId")
    order_id: CJId | None = Field(default=None, alias="orderId")
    status: str | None = None
    finally_deal: int | None = Field(default=None, alias="finallyDeal")
    money: Money | None = None

    @property
    def cj_id(self) -> str | None:
        return self.dispute_id or self.id


class WebhookTopic(CJModel):
    type: str
    callback_urls: list[str] = Field(serialization_alias="callbackUrls")
