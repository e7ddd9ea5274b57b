"""CJClient: one typed async method per CJ operation.

Retries (tenacity, jittered) happen only for calls that are safe to repeat and only
inside the caller's deadline. Creating an order or paying is never retried here: after
an ambiguous failure the caller looks the order up first (CJAmbiguous says so).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import SecretStr, TypeAdapter
from redis.asyncio import Redis
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from app.cj.catalogue import (
    CJProduct,
    CJVariant,
    read_inventory,
    read_product,
    read_stock_rows,
    read_variant,
    read_variants,
)
from app.cj.errors import (
    TOKEN_CODES,
    CJAuthError,
    CJParameterError,
    CJRateLimited,
    CJTimeout,
    CJTransportError,
    CJUpstreamError,
)
from app.cj.models import (
    AccessToken,
    AccountSettings,
    Balance,
    CartAdded,
    CartConfirmed,
    CreatedOrder,
    CreateOrderRequest,
    DisputeConfirmInfo,
    DisputeProduct,
    DisputeRecord,
    FreightQuote,
    FreightRequest,
    OrderDetail,
    ParentOrder,
    Priority,
    TrackInfo,
)
from app.cj.tokens import TokenManager, TokenStore
from app.cj.translate import create_order_body, read_created_order, read_order_detail, read_quotes
from app.cj.transport import CJTransport

RETRY_ATTEMPTS = 3
_TRACKS = TypeAdapter(list[TrackInfo])
_DISPUTE_PRODUCTS = TypeAdapter(list[DisputeProduct])
_DISPUTES = TypeAdapter(list[DisputeRecord])
DISPUTE_PAGE_SIZE = 50


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, CJRateLimited):
        return exc.code == 1600200  # QPS: a later slot works; 1600201 (quota) will not
    return isinstance(exc, CJUpstreamError | CJTimeout | CJTransportError)


def _stop_at(deadline: float) -> Any:
    def stop(state: RetryCallState) -> bool:
        return time.monotonic() + (state.upcoming_sleep or 0) >= deadline - 0.1

    return stop


class CJClient:
    def __init__(
        self,
        transport: CJTransport,
        *,
        api_key: SecretStr | None,
        token_store: TokenStore,
        redis: Redis | None = None,
        open_id_override: SecretStr | None = None,
        default_timeout_seconds: float = 10.0,
    ) -> None:
        self.transport = transport
        self._default_budget = default_timeout_seconds * 2
        self.tokens = TokenManager(
            api_key=api_key,
            store=token_store,
            get_access_token=self.get_access_token,
            refresh_access_token=self.refresh_access_token,
            redis=redis,
            open_id_override=open_id_override,
        )

    @property
    def breaker_state(self) -> str:
        return self.transport.breaker.state

    async def aclose(self) -> None:
        await self.transport.aclose()

    def _deadline(self, deadline: float | None) -> float:
        return deadline if deadline is not None else time.monotonic() + self._default_budget

    async def _call(
        self,
        method: str,
        path: str,
        *,
        priority: Priority,
        deadline: float | None = None,
        idempotent: bool,
        json: Any = None,
        params: Any = None,
        costs_points: bool = False,
        slot_deadline: float | None = None,
        fail_fast: bool = False,
    ) -> Any:
        until = self._deadline(deadline)
        send = {"json": json, "params": params, "costs_points": costs_points}
        if slot_deadline is not None:
            send["slot_deadline"] = slot_deadline
        if fail_fast:
            send["fail_fast"] = True
        if not idempotent:
            return await self._with_token(method, path, priority, until, send, ambiguous=True)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(RETRY_ATTEMPTS) | _stop_at(until),
            wait=wait_random_exponential(multiplier=0.25, max=2.0),
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._with_token(method, path, priority, until, send, ambiguous=False)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _with_token(
        self,
        method: str,
        path: str,
        priority: Priority,
        deadline: float,
        send: dict[str, Any],
        *,
        ambiguous: bool,
    ) -> Any:
        token = await self.tokens.access_token()
        kwargs: dict[str, Any] = {
            **send,
            "priority": priority,
            "deadline": deadline,
            "ambiguous_on_failure": ambiguous,
        }
        try:
            return await self.transport.send(method, path, token=token, **kwargs)
        except CJAuthError as exc:
            if exc.code not in TOKEN_CODES:
                raise
            # One forced refresh, one retry: CJ refused the token, not the request.
            token = await self.tokens.after_auth_error(token)
            return await self.transport.send(method, path, token=token, **kwargs)

    # Authentication (no access token needed)

    async def get_access_token(self, api_key: SecretStr) -> AccessToken:
        data = await self.transport.send(
            "POST",
            "authentication/getAccessToken",
            token=None,
            priority=Priority.orders,
            deadline=self._deadline(None),
            json={"apiKey": api_key.get_secret_value()},
        )
        return AccessToken.model_validate(data)

    async def refresh_access_token(self, refresh_token: str) -> AccessToken:
        data = await self.transport.send(
            "POST",
            "authentication/refreshAccessToken",
            token=None,
            priority=Priority.orders,
            deadline=self._deadline(None),
            json={"refreshToken": refresh_token},
        )
        return AccessToken.model_validate(data)

    # Account

    async def get_account_settings(self) -> AccountSettings:
        data = await self._call("GET", "setting/get", priority=Priority.orders, idempotent=True)
        return AccountSettings.model_validate(data or {})

    async def get_balance(self, *, deadline: float | None = None) -> Balance:
        data = await self._call(
            "GET",
            "shopping/pay/getBalance",
            priority=Priority.orders,
            deadline=deadline,
            idempotent=True,
        )
        return Balance.model_validate(data or {})

    # Logistics

    async def freight_calculate(
        self,
        request: FreightRequest,
        *,
        priority: Priority = Priority.checkout,
        deadline: float | None = None,
        slot_deadline: float | None = None,
        fail_fast: bool = False,
    ) -> list[FreightQuote]:
        data = await self._call(
            "POST",
            "logistic/freightCalculate",
            priority=priority,
            deadline=deadline,
            idempotent=True,
            json=request.model_dump(by_alias=True, exclude_none=True),
            costs_points=True,
            slot_deadline=slot_deadline,
            fail_fast=fail_fast,
        )
        return read_quotes(data)

    async def track_info(
        self,
        track_numbers: Sequence[str],
        *,
        priority: Priority = Priority.polling,
        deadline: float | None = None,
    ) -> list[TrackInfo]:
        data = await self._call(
            "GET",
            "logistic/trackInfo",
            priority=priority,
            deadline=deadline,
            idempotent=True,
            params=[("trackNumber", number) for number in track_numbers],
        )
        return _TRACKS.validate_python(data or [])

    # Products, variants and stock (10 points each; unknown: CJVariantNotFound, whose
    # code tells unknown (1602000/1602001) from off the shelves (1602002/1602003))

    async def _catalogue(
        self, path: str, params: dict[str, str], priority: Priority, deadline: float | None
    ) -> Any:
        return await self._call(
            "GET",
            path,
            priority=priority,
            deadline=deadline,
            idempotent=True,
            params=params,
            costs_points=True,
        )

    async def product(
        self, pid: str, *, priority: Priority = Priority.catalogue, deadline: float | None = None
    ) -> CJProduct:
        return read_product(
            await self._catalogue("product/query", {"pid": pid}, priority, deadline)
        )

    async def product_variants(
        self, pid: str, *, priority: Priority = Priority.catalogue, deadline: float | None = None
    ) -> list[CJVariant]:
        data = await self._catalogue("product/variant/query", {"pid": pid}, priority, deadline)
        return read_variants(data)

    async def variant(
        self, vid: str, *, priority: Priority = Priority.catalogue, deadline: float | None = None
    ) -> CJVariant:
        data = await self._catalogue("product/variant/queryByVid", {"vid": vid}, priority, deadline)
        return read_variant(data)

    async def product_inventory(
        self, pid: str, *, priority: Priority = Priority.catalogue, deadline: float | None = None
    ) -> dict[str, dict[str, int]]:
        """Each variant's stock per warehouse country, in one call."""
        data = await self._catalogue(
            "product/stock/getInventoryByPid", {"pid": pid}, priority, deadline
        )
        return read_inventory(data)

    async def variant_stock(
        self, vid: str, *, priority: Priority = Priority.catalogue, deadline: float | None = None
    ) -> dict[str, int]:
        data = await self._catalogue("product/stock/queryByVid", {"vid": vid}, priority, deadline)
        return read_stock_rows(data)

    # Orders

    async def create_order_v2(
        self,
        request: CreateOrderRequest,
        *,
        deadline: float | None = None,
    ) -> CreatedOrder:
        """Never retried: on CJAmbiguous, look the order up by its orderNumber."""
        data = await self._call(
            "POST",
            "shopping/order/createOrderV2",
            priority=Priority.orders,
            deadline=deadline,
            idempotent=False,
            json=create_order_body(request),
        )
        return read_created_order(data)

    async def get_order_detail(
        self,
        order_id: str,
        *,
        priority: Priority = Priority.orders,
        deadline: float | None = None,
    ) -> OrderDetail:
        """By CJ's order id or by our orderNumber (CJ accepts either). CJNotFound when CJ
        has no such order (its 1600300 "order not found", or 1603100)."""
        if not order_id.strip():
            # CJ's 1600300 "orderId must be not empty" must never be read as "not found".
            raise CJParameterError("orderId must be not empty")
        data = await self._call(
            "GET",
            "shopping/order/getOrderDetail",
            priority=priority,
            deadline=deadline,
            idempotent=True,
            params={"orderId": order_id},
        )
        return read_order_detail(data)

    async def delete_order(self, order_id: str, *, deadline: float | None = None) -> str:
        data = await self._call(
            "DELETE",
            "shopping/order/deleteOrder",
            priority=Priority.orders,
            deadline=deadline,
            idempotent=False,
            params={"orderId": order_id},
        )
        return str(data) if data is not None else order_id

    async def add_cart(
        self, order_ids: Sequence[str], *, deadline: float | None = None
    ) -> CartAdded:
        """Balance payment, step 1 (seed 004 §1.3): CREATED orders into the cart."""
        data = await self._call(
            "POST",
            "shopping/order/addCart",
            priority=Priority.orders,
            deadline=deadline,
            idempotent=False,
            json={"cjOrderIdList": list(order_ids)},
        )
        return CartAdded.model_validate(data or {})

    async def add_cart_confirm(
        self, order_ids: Sequence[str], *, deadline: float | None = None
    ) -> CartConfirmed:
        """Step 2 (§1.4): confirm the cart (the orders become UNPAID); `shipmentsId` is the
        parent order to pay."""
        data = await self._call(
            "POST",
            "shopping/order/addCartConfirm",
            priority=Priority.orders,
            deadline=deadline,
            idempotent=False,
            json={"cjOrderIdList": list(order_ids)},
        )
        return CartConfirmed.model_validate(data or {})

    async def save_generate_parent_order(
        self, shipment_order_id: str, *, deadline: float | None = None
    ) -> ParentOrder:
        """Step 3 (§1.5): the parent order's `payId` and the amount to pay."""
        data = await self._call(
            "POST",
            "shopping/order/saveGenerateParentOrder",
            priority=Priority.orders,
            deadline=deadline,
            idempotent=False,
            json={"shipmentOrderId": shipment_order_id},
        )
        return ParentOrder.model_validate(data or {})

    async def pay_balance_v2(
        self, shipment_order_id: str, pay_id: str | None, *, deadline: float | None = None
    ) -> bool:
        """Step 4 (§2.3): pay the parent order from the balance (`payId` optional)."""
        data = await self._call(
            "POST",
            "shopping/pay/payBalanceV2",
            priority=Priority.orders,
            deadline=deadline,
            idempotent=False,
            json={"shipmentOrderId": shipment_order_id, "payId": pay_id}
            if pay_id
            else {"shipmentOrderId": shipment_order_id},
        )
        return data is not False

    # Webhooks

    async def set_webhooks(
        self,
        *,
        order_url: str | None,
        logistics_url: str | None,
        catalogue_url: str | None = None,
    ) -> bool:
        """Enable ORDER and LOGISTIC callbacks (or cancel them with None), and with
        `catalogue_url` PRODUCT and STOCK too (stock sync). Topics not named stay as they
        are, since another tool on the same account may use them. CJ allows one https URL
        per topic."""

        def topic(url: str | None) -> dict[str, Any]:
            return {"type": "ENABLE" if url else "CANCEL", "callbackUrls": [url] if url else []}

        body = {"order": topic(order_url), "logistics": topic(logistics_url)}
        if catalogue_url is not None:
            body |= {"product": topic(catalogue_url), "stock": topic(catalogue_url)}
        data = await self._call(
            "POST", "webhook/set", priority=Priority.orders, idempotent=True, json=body
        )
        return bool(data)

    # Disputes (cancelling after payment)

    async def dispute_products(self, order_id: str) -> list[DisputeProduct]:
        data = await self._call(
            "GET",
            "disputes/disputeProducts",
            priority=Priority.orders,
            idempotent=True,
            params={"orderId": order_id},
        )
        if isinstance(data, dict):
            data = data.get("productInfoList") or data.get("list") or []
        return _DISPUTE_PRODUCTS.validate_python(data or [])

    async def dispute_confirm_info(
        self, order_id: str, products: Sequence[DisputeProduct]
    ) -> DisputeConfirmInfo:
        data = await self._call(
            "POST",
            "disputes/disputeConfirmInfo",
            priority=Priority.orders,
            idempotent=True,
            json={"orderId": order_id, "productInfoList": _dispute_lines(products)},
        )
        return DisputeConfirmInfo.model_validate(data or {})

    async def create_dispute(
        self,
        *,
        order_id: str,
        business_dispute_id: str,
        reason_id: int,
        products: Sequence[DisputeProduct],
        message: str,
        refund_to_balance: bool = True,
    ) -> str | None:
        """Open a refund dispute (expectType 1). CJ's dispute id, or None when CJ answers
        only `true` (as its public docs do): then find it with `dispute_list`."""
        data = await self._call(
            "POST",
            "disputes/create",
            priority=Priority.orders,
            idempotent=False,
            json={
                "orderId": order_id,
                "businessDisputeId": business_dispute_id,
                "disputeReasonId": reason_id,
                "expectType": 1,
                "refundType": 1 if refund_to_balance else 2,
                "messageText": message,
                "productInfoList": _dispute_lines(products),
            },
        )
        if isinstance(data, dict):
            found = data.get("disputeId") or data.get("id")
            return str(found) if found else None
        if isinstance(data, str | int) and not isinstance(data, bool):
            return str(data)
        return None

    async def dispute_list(
        self, order_id: str, *, priority: Priority = Priority.orders
    ) -> list[DisputeRecord]:
        """The order's disputes (first page of 50: an order has few), newest first."""
        data = await self._call(
            "GET",
            "disputes/getDisputeList",
            priority=priority,
            idempotent=True,
            params={"orderId": order_id, "pageNum": 1, "pageSize": DISPUTE_PAGE_SIZE},
        )
        if isinstance(data, dict):
            data = data.get("list") or []
        return _DISPUTES.validate_python(data or [])


def _dispute_lines(products: Sequence[DisputeProduct]) -> list[dict[str, Any]]:
    return [
        {
            "lineItemId": p.line_item_id,
            "quantity": p.quantity,
            "price": str(p.price if p.price is not None else Decimal(0)),
        }
        for p in products
    ]
