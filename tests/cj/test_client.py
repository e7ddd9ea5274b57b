"""Each CJ call: the request it sends, the typed answer, the typed error."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from app.cj.client import CJClient
from app.cj.errors import (
    CJAmbiguous,
    CJBalanceInsufficient,
    CJLogisticInvalid,
    CJNotFound,
    CJOrderExists,
    CJParameterError,
    CJPointsExhausted,
    CJRateLimited,
    CJThrottled,
    CJUpstreamError,
    CJVariantNotFound,
)
from app.cj.models import (
    CreateOrderRequest,
    DisputeProduct,
    FreightRequest,
    OrderProduct,
    Priority,
)
from app.core.config import LogFormat
from app.core.logging import configure_logging
from tests.cj.conftest import ACCESS, BASE, BuildClient, fail, ok

FREIGHT = FreightRequest(
    start_country_code="US",
    end_country_code="US",
    zip="10001",
    products=[{"vid": "V1", "quantity": 2}],  # type: ignore[list-item]
)
ORDER = CreateOrderRequest(
    order_number="ful_01",
    shipping_country_code="US",
    shipping_country="United States",
    shipping_province="New York",
    shipping_city="New York",
    shipping_customer_name="Ada Lovelace",
    shipping_address="1 Main St",
    shipping_zip="10001",
    logistic_name="USPS+",
    from_country_code="US",
    products=[OrderProduct(vid="V1", quantity=1, store_line_item_id="li_1")],
)
PRODUCT = DisputeProduct.model_validate({"lineItemId": "L1", "quantity": 1})

Call = Callable[[CJClient], Awaitable[Any]]

# The `data` of CJ's samples (seed 004 §1.3, §1.4, §1.5).
ADD_CART = {
    "successCount": 1,
    "addSuccessOrders": ["SD25080109282603297001"],
    "unInterceptAddressCount": 0,
    "interceptOrders": [],
}
CART_CONFIRM = {
    "successCount": 1,
    "submitSuccess": True,
    "shipmentsId": "",
    "result": 0,
    "interceptOrders": [],
}
PARENT_ORDER = {
    "orderMoney": 99.99,
    "payExpireTime": "2024-12-31 23:59:59",
    "payId": "PAY123456789",
    "result": 0,
    "submitSuccess": True,
    "unMatchOrderCodes": ["ORDER001", "ORDER002"],
    "successOrders": ["ORDER003", "ORDER004"],
    "unMatchProductCodes": ["PROD001", "PROD002"],
    "paymentInformation": {"actualPayment": 89.99, "payableAmount": 89.99},
    "interceptOrders": [],
}

# (name, HTTP method, path, CJ's data, the call)
ENDPOINTS: list[tuple[str, str, str, Any, Call]] = [
    (
        "settings",
        "GET",
        "/setting/get",
        {"setting": {"qpsLimit": 2}},
        lambda c: c.get_account_settings(),
    ),
    ("balance", "GET", "/shopping/pay/getBalance", {"amount": "12.50"}, lambda c: c.get_balance()),
    (
        "freight",
        "POST",
        "/logistic/freightCalculate",
        [{"logisticName": "USPS+", "logisticAging": "2-5", "logisticPrice": 4.5}],
        lambda c: c.freight_calculate(FREIGHT),
    ),
    ("track", "GET", "/logistic/trackInfo", [], lambda c: c.track_info(["T1"])),
    (
        "create_v2",
        "POST",
        "/shopping/order/createOrderV2",
        {"orderId": "2108231000162905551", "orderNumber": "ful_01"},
        lambda c: c.create_order_v2(ORDER),
    ),
    (
        "detail",
        "GET",
        "/shopping/order/getOrderDetail",
        {"orderId": "2108231000162905551", "orderNum": "ful_01", "orderStatus": "CREATED"},
        lambda c: c.get_order_detail("ful_01"),
    ),
    ("delete", "DELETE", "/shopping/order/deleteOrder", "2108", lambda c: c.delete_order("2108")),
    ("add_cart", "POST", "/shopping/order/addCart", ADD_CART, lambda c: c.add_cart(["SD1"])),
    (
        "add_cart_confirm",
        "POST",
        "/shopping/order/addCartConfirm",
        CART_CONFIRM,
        lambda c: c.add_cart_confirm(["SD1"]),
    ),
    (
        "parent_order",
        "POST",
        "/shopping/order/saveGenerateParentOrder",
        PARENT_ORDER,
        lambda c: c.save_generate_parent_order("SD1"),
    ),
    ("pay_v2", "POST", "/shopping/pay/payBalanceV2", None, lambda c: c.pay_balance_v2("S1", "P1")),
    (
        "dispute_list",
        "GET",
        "/disputes/getDisputeList",
        {"pageNum": 1, "pageSize": 50, "total": 0, "list": []},
        lambda c: c.dispute_list("2108"),
    ),
    (
        "webhooks",
        "POST",
        "/webhook/set",
        True,
        lambda c: c.set_webhooks(order_url="https://s/o", logistics_url="https://s/l"),
    ),
    (
        "dispute_products",
        "GET",
        "/disputes/disputeProducts",
        {"productInfoList": [{"lineItemId": "L1", "quantity": 1}]},
        lambda c: c.dispute_products("2108"),
    ),
    (
        "dispute_confirm",
        "POST",
        "/disputes/disputeConfirmInfo",
        {"disputeReasonList": [{"disputeReasonId": 7, "reasonName": "Unfulfilled"}]},
        lambda c: c.dispute_confirm_info("2108", [PRODUCT]),
    ),
    (
        "dispute_create",
        "POST",
        "/disputes/create",
        "D1",
        lambda c: c.create_dispute(
            order_id="2108",
            business_dispute_id="b1",
            reason_id=7,
            products=[PRODUCT],
            message="cancel",
        ),
    ),
]
IDS = [entry[0] for entry in ENDPOINTS]


class TestEachEndpoint:
    @pytest.mark.parametrize(("name", "method", "path", "data", "call"), ENDPOINTS, ids=IDS)
    async def test_success_sends_the_token_and_returns_the_typed_answer(
        self,
        client: CJClient,
        cj_api: respx.MockRouter,
        name: str,
        method: str,
        path: str,
        data: Any,
        call: Call,
    ) -> None:
        route = cj_api.route(method=method, url=f"{BASE}{path}").respond(json=ok(data))
        result = await call(client)
        assert route.call_count == 1
        assert route.calls.last.request.headers["CJ-Access-Token"] == ACCESS
        assert result is not None

    @pytest.mark.parametrize(("name", "method", "path", "data", "call"), ENDPOINTS, ids=IDS)
    async def test_a_code_in_an_http_200_is_a_typed_error(
        self,
        client: CJClient,
        cj_api: respx.MockRouter,
        name: str,
        method: str,
        path: str,
        data: Any,
        call: Call,
    ) -> None:
        route = cj_api.route(method=method, url=f"{BASE}{path}").respond(
            json=fail(1600100, "Param error")
        )
        with pytest.raises(CJParameterError) as caught:
            await call(client)
        assert caught.value.code == 1600100
        assert caught.value.request_id == "r-2"
        assert route.call_count == 1


class TestRequests:
    async def test_the_balance_payment_steps_read_cjs_samples(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        cj_api.post("/shopping/order/addCart").respond(json=ok(ADD_CART))
        cj_api.post("/shopping/order/addCartConfirm").respond(json=ok(CART_CONFIRM))
        cj_api.post("/shopping/order/saveGenerateParentOrder").respond(json=ok(PARENT_ORDER))
        pay = cj_api.post("/shopping/pay/payBalanceV2").respond(json=ok(None))
        added = await client.add_cart(["SD25080109282603297001"])
        assert added.added == ["SD25080109282603297001"]
        confirmed = await client.add_cart_confirm(["SD25080109282603297001"])
        assert confirmed.success_count == 1
        assert not confirmed.shipments_id  # the sample's empty string: use the order's own
        parent = await client.save_generate_parent_order("SD1")
        assert parent.pay_id == "PAY123456789"
        assert parent.order_money == Decimal("99.99")
        assert await client.pay_balance_v2("SD1", parent.pay_id) is True
        assert json.loads(pay.calls.last.request.content) == {
            "shipmentOrderId": "SD1",
            "payId": "PAY123456789",
        }
        await client.pay_balance_v2("SD1", None)  # payId is optional
        assert json.loads(pay.calls.last.request.content) == {"shipmentOrderId": "SD1"}

    async def test_a_dispute_created_with_a_bare_true_has_no_id_yet(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        cj_api.post("/disputes/create").respond(json=ok(True))
        listed = cj_api.get("/disputes/getDisputeList").respond(
            json=ok(
                {
                    "pageNum": 1,
                    "pageSize": 50,
                    "total": 1,
                    "list": [
                        {
                            "disputeId": 1627572766607937537,
                            "businessDisputeId": "ful_1-cancel",
                            "orderId": "2108",
                            "status": "FINISHED",
                            "finallyDeal": 3,
                            "money": 12.3,
                        }
                    ],
                }
            )
        )
        created = await client.create_dispute(
            order_id="2108",
            business_dispute_id="ful_1-cancel",
            reason_id=1,
            products=[PRODUCT],
            message="cancel",
        )
        assert created is None
        [record] = await client.dispute_list("2108")
        assert record.cj_id == "1627572766607937537"
        assert record.business_dispute_id == "ful_1-cancel"
        assert record.finally_deal == 3
        assert listed.calls.last.request.url.params["orderId"] == "2108"

    async def test_freight_body_and_quotes(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        quotes = [{"logisticName": "USPS+", "logisticPrice": 4.5, "taxesFee": None}]
        route = cj_api.post("/logistic/freightCalculate").respond(json=ok(quotes))
        [quote] = await client.freight_calculate(FREIGHT)
        assert json.loads(route.calls.last.request.content) == {
            "startCountryCode": "US",
            "endCountryCode": "US",
            "zip": "10001",
            "products": [{"vid": "V1", "quantity": 2}],
        }
        assert quote.logistic_price == Decimal("4.5")
        assert quote.taxes_fee is None

    async def test_track_info_repeats_the_track_number_key(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        route = cj_api.get("/logistic/trackInfo").respond(json=ok([]))
        await client.track_info(["T1", "T2"])
        assert route.calls.last.request.url.params.get_list("trackNumber") == ["T1", "T2"]

    async def test_webhook_set_touches_only_order_and_logistics(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        """PRODUCT and STOCK callbacks may belong to another tool on the same account: they
        are not sent, so CJ leaves them as they are (the safe reading of webhook/set)."""
        route = cj_api.post("/webhook/set").respond(json=ok(True))
        await client.set_webhooks(order_url="https://s/cj", logistics_url="https://s/cj")
        assert json.loads(route.calls.last.request.content) == {
            "order": {"type": "ENABLE", "callbackUrls": ["https://s/cj"]},
            "logistics": {"type": "ENABLE", "callbackUrls": ["https://s/cj"]},
        }
        await client.set_webhooks(order_url=None, logistics_url=None)
        assert set(json.loads(route.calls.last.request.content)) == {"order", "logistics"}

    async def test_big_numeric_ids_stay_exact_strings(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        cj_api.get("/shopping/order/getOrderDetail").mock(
            return_value=httpx.Response(
                200,
                content=b'{"code":200,"result":true,"data":{"orderId":2108231000162905551,'
                b'"orderNum":"ful_01","orderStatus":"CREATED"}}',
            )
        )
        detail = await client.get_order_detail("ful_01")
        assert detail.order_id == "2108231000162905551"


class TestEnvelope:
    @pytest.mark.parametrize(
        "body",
        [
            {"code": 0, "data": [], "message": "ok"},
            {"result": True, "data": []},
            {"success": True, "data": []},
        ],
    )
    async def test_other_success_shapes(
        self, client: CJClient, cj_api: respx.MockRouter, body: dict[str, Any]
    ) -> None:
        cj_api.post("/logistic/freightCalculate").respond(json=body)
        assert await client.freight_calculate(FREIGHT) == []

    @pytest.mark.parametrize(
        ("code", "error"),
        [
            (1600201, CJRateLimited),
            (1603003, CJOrderExists),
            (1603100, CJNotFound),
            (1602000, CJVariantNotFound),
            (1604000, CJBalanceInsufficient),
            (1605001, CJLogisticInvalid),
        ],
    )
    async def test_codes_map_to_typed_errors(
        self, client: CJClient, cj_api: respx.MockRouter, code: int, error: type[Exception]
    ) -> None:
        cj_api.post("/shopping/order/createOrderV2").respond(json=fail(code))
        with pytest.raises(error):
            await client.create_order_v2(ORDER)

    async def test_1600300_order_not_found_means_cj_has_no_such_order(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        # Seed 004 §1.7, Query Order's error table: 1600300 "order not found".
        cj_api.get("/shopping/order/getOrderDetail").respond(json=fail(1600300, "order not found"))
        with pytest.raises(CJNotFound):
            await client.get_order_detail("ful_1")

    @pytest.mark.parametrize(
        "message", ["orderId must be not empty", "The maximum number of features is 20"]
    )
    async def test_other_1600300_messages_stay_parameter_errors(
        self, client: CJClient, cj_api: respx.MockRouter, message: str
    ) -> None:
        cj_api.get("/shopping/order/getOrderDetail").respond(json=fail(1600300, message))
        with pytest.raises(CJParameterError) as caught:
            await client.get_order_detail("ful_1")
        assert not isinstance(caught.value, CJNotFound)

    async def test_an_empty_order_id_is_never_sent(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        route = cj_api.get("/shopping/order/getOrderDetail").respond(
            json=fail(1600300, "order not found")
        )
        with pytest.raises(CJParameterError) as caught:
            await client.get_order_detail(" ")
        assert not isinstance(caught.value, CJNotFound)
        assert route.call_count == 0

    async def test_qps_exceeded_without_result_field(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        route = cj_api.get("/setting/get").respond(
            json={"code": 1600200, "message": "Too Many Requests", "data": None}
        )
        with pytest.raises(CJRateLimited):
            await client.get_account_settings()
        assert route.call_count >= 1

    async def test_http_429_means_points_gone_until_midnight_utc(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        route = cj_api.post("/logistic/freightCalculate").respond(
            429,
            json={
                "code": 429,
                "result": False,
                "message": "Insufficient API points. Used today: 50000, Remaining: 0",
            },
        )
        with pytest.raises(CJPointsExhausted) as caught:
            await client.freight_calculate(FREIGHT)
        until = caught.value.until
        assert until.utcoffset() == timedelta(0)
        assert (until.hour, until.minute, until.second) == (0, 0, 0)
        assert until > datetime.now(UTC)
        calls = route.call_count
        with pytest.raises(CJPointsExhausted):
            await client.freight_calculate(FREIGHT)
        assert route.call_count == calls, "no point-costing call until 00:00 UTC"


class TestRetries:
    async def test_safe_calls_are_retried_on_transport_errors(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        route = cj_api.get("/shopping/order/getOrderDetail").mock(
            side_effect=[
                httpx.ConnectTimeout("slow"),
                httpx.Response(200, json=ok({"orderId": "1", "orderStatus": "CREATED"})),
            ]
        )
        detail = await client.get_order_detail("1")
        assert detail.order_id == "1"
        assert route.call_count == 2

    async def test_business_errors_are_not_retried(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        route = cj_api.get("/shopping/order/getOrderDetail").respond(json=fail(1603100))
        with pytest.raises(CJNotFound):
            await client.get_order_detail("1")
        assert route.call_count == 1

    @pytest.mark.parametrize(
        "answer",
        [
            httpx.ReadTimeout("no answer"),
            httpx.Response(502),
            httpx.Response(200, json=fail(1600000, "Interface internal error")),
        ],
        ids=["timeout", "http_502", "code_1600000"],
    )
    async def test_create_order_is_never_retried_and_is_ambiguous(
        self, client: CJClient, cj_api: respx.MockRouter, answer: Any
    ) -> None:
        route = cj_api.post("/shopping/order/createOrderV2").mock(side_effect=[answer])
        with pytest.raises(CJAmbiguous):
            await client.create_order_v2(ORDER)
        assert route.call_count == 1

    async def test_upstream_error_on_a_safe_call_is_retried_then_raised(
        self, client: CJClient, cj_api: respx.MockRouter
    ) -> None:
        route = cj_api.get("/shopping/pay/getBalance").respond(503)
        with pytest.raises(CJUpstreamError):
            await client.get_balance()
        assert route.call_count > 1


class TestSlotDeadline:
    async def test_a_caller_that_stops_waiting_gives_up_its_place_in_the_queue(
        self, build_client: BuildClient, cj_api: respx.MockRouter
    ) -> None:
        client = build_client(qps=Decimal(1), timeout=5)
        route = cj_api.post("/logistic/freightCalculate").respond(json=ok([]))
        await client.freight_calculate(FREIGHT)  # takes this second's slot
        now = time.monotonic()
        with pytest.raises(CJThrottled):
            await client.freight_calculate(FREIGHT, deadline=now + 5, slot_deadline=now + 0.2)
        assert route.call_count == 1
        # Without a slot deadline the same call waits for the next slot and is sent.
        assert await client.freight_calculate(FREIGHT, deadline=time.monotonic() + 5) == []
        assert route.call_count == 2


async def test_each_call_logs_its_priority_and_its_wait_for_a_rate_limit_slot(
    build_client: BuildClient, cj_api: respx.MockRouter, capfd: pytest.CaptureFixture[str]
) -> None:
    """What the realistic store's diagnosis reads (bench/harness/store_diagnosis.py): which
    queue a call stood in and how long, beside CJ's own answer time."""
    client = build_client(qps=Decimal(1000))
    cj_api.post("/logistic/freightCalculate").respond(json=ok([]))
    configure_logging(LogFormat.json)
    capfd.readouterr()
    await client.freight_calculate(FREIGHT, priority=Priority.warming)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    [call] = [line for line in lines if line.get("operation") == "freightCalculate"]
    assert call["event"] == "cj_call"
    assert call["priority"] == "warming"
    assert isinstance(call["slot_wait_ms"], float)
    assert call["slot_wait_ms"] >= 0
