"""Orders: create V2/V3, duplicates, detail, list, delete, confirm, cart, pay, balance."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tests.cjsim.support import CJ, CN_CASE, login, order_body

ORDER = "/shopping/order"
BIG = 2**53


async def stats(cj: CJ) -> dict[str, object]:
    data: dict[str, object] = (await cj.client.get("/_sim/stats")).json()
    return data


async def test_create_v2_defaults_to_page_payment(cj: CJ) -> None:
    data = await cj.create_ok()
    order_id = data["orderId"]
    assert isinstance(order_id, str)
    assert order_id.isdigit()
    assert len(order_id) in (18, 19)
    assert int(order_id) > BIG
    assert data["orderNumber"] == "ful_0001"
    assert data["orderStatus"] == "CREATED"
    assert data["cjPayUrl"].startswith("https://")
    assert data["interceptOrderReasons"] == []
    assert data["shipmentOrderId"]
    (line,) = data["productInfoList"]
    assert line["storeLineItemId"] == "li_1"
    assert line["quantity"] == 2
    assert line["lineItemId"]
    amounts = [Decimal(str(data[k])) for k in ("productAmount", "postageAmount", "orderAmount")]
    assert amounts[0] + amounts[1] == amounts[2]
    assert amounts[0] == Decimal("13.00")  # 2 x 6.50
    assert data["actualPayment"] == data["orderAmount"]


async def test_ids_are_unique_and_increasing(cj: CJ) -> None:
    ids = [(await cj.create_ok(orderNumber=f"ful_{i}"))["orderId"] for i in range(3)]
    assert len(set(ids)) == 3
    assert sorted(ids, key=int) == ids


async def test_duplicate_order_number_is_rejected(cj: CJ) -> None:
    first = await cj.create_ok()
    again = await cj.create()
    assert again["code"] == 1603003
    assert again["result"] is False
    assert again["message"] == "order already exists"
    v3 = await cj.create(3)
    assert v3["code"] == 1603003
    snapshot = await stats(cj)
    assert snapshot["orders"] == 1
    assert snapshot["orders_by_number"] == {"ful_0001": 1}
    # The retry path of the service: look the order up by its own number.
    detail = await cj.detail("ful_0001")
    assert detail["data"]["orderId"] == first["orderId"]


async def test_detail_by_id_and_by_number(cj: CJ) -> None:
    created = await cj.create_ok()
    by_id = (await cj.detail(created["orderId"]))["data"]
    by_number = (await cj.detail("ful_0001"))["data"]
    assert by_id == by_number
    assert by_id["orderId"] == created["orderId"]
    assert by_id["orderNum"] == by_id["orderNumber"] == "ful_0001"
    assert by_id["orderStatus"] == "CREATED"
    assert by_id["logisticName"] == "USPS+"
    assert by_id["trackNumber"] is None
    assert by_id["isSandbox"] == 0
    assert by_id["disputeId"] is None
    assert by_id["shippingCountryCode"] == "US"
    assert len(by_id["createDate"]) == len("2021-08-23 11:31:45")
    assert by_id["paymentDate"] is None
    (item,) = by_id["productList"]
    assert item["quantity"] == 2
    assert item["sellPrice"] == 6.5
    assert item["storeLineItemId"] == "li_1"
    missing = await cj.detail("nope")
    # Query Order's error table (seed 004 §1.7): 1600300 "order not found".
    assert (missing["code"], missing["message"]) == (1600300, "order not found")
    assert missing["data"] is None
    empty = await cj.detail("")
    assert (empty["code"], empty["message"]) == (1600300, "orderId must be not empty")


async def test_orders_of_another_account_are_invisible(cj: CJ) -> None:
    created = await cj.create_ok()
    other = CJ(cj.client, await login(cj.client, "CJ77@api@someone-else"))
    assert (await other.detail(created["orderId"]))["code"] == 1600300
    assert (await other.detail("ful_0001"))["code"] == 1600300
    listed = (await other.get(f"{ORDER}/list"))["data"]
    assert listed["total"] == 0


@pytest.mark.parametrize(
    ("field", "value", "code", "message"),
    [
        ("shippingCity", None, 16900403, "shippingCity can not be empty"),
        ("logisticName", "", 16900403, "logisticName can not be empty"),
        ("products", [], 16900403, "products can not be empty"),
        # Seed 004 §1.1's lengths; CJ's sample refusal is 1600100 "Param error".
        ("orderNumber", "x" * 51, 1600100, "Param error"),
        ("shippingCustomerName", "x" * 51, 1600100, "Param error"),
        ("shippingCity", "x" * 51, 1600100, "Param error"),
        ("shippingProvince", "x" * 51, 1600100, "Param error"),
        ("shippingCountry", "x" * 51, 1600100, "Param error"),
        ("shippingPhone", "1" * 21, 1600100, "Param error"),
        ("shippingZip", "1" * 21, 1600100, "Param error"),
        ("shippingAddress", "x" * 201, 1600100, "Param error"),
        ("shippingAddress2", "x" * 201, 1600100, "Param error"),
        ("houseNumber", "1" * 21, 1600100, "Param error"),
        ("email", "a" * 45 + "@b.com", 1600100, "Param error"),
        ("remark", "x" * 501, 1600100, "Param error"),
        ("taxId", "1" * 21, 1600100, "Param error"),
        ("products", [{"vid": "NOPE", "quantity": 1}], 1602000, None),
        ("logisticName", "DHL Express", 1605001, None),
        ("shippingCountryCode", "QQ", 1605002, None),
        ("fromCountryCode", "CN", 1605001, None),
    ],
)
async def test_create_validation(
    cj: CJ, field: str, value: object, code: int, message: str | None
) -> None:
    body = await cj.post("/shopping/order/createOrderV2", order_body(**{field: value}))
    assert body["code"] == code
    assert body["result"] is False
    if message is not None:
        assert body["message"] == message
    assert (await stats(cj))["orders"] == 0


async def test_fields_at_their_limit_are_accepted(cj: CJ) -> None:
    data = await cj.create_ok(
        shippingCustomerName="x" * 50, shippingPhone="1" * 20, shippingAddress="x" * 200
    )
    assert data["orderId"]


async def test_non_cj_variants_get_no_order_id(cj: CJ) -> None:
    # Seed 004 §1.1: for a vid that is not a CJ SKU "the CJ order id will not be returned".
    catalog = (await cj.client.get("/_sim/catalog")).json()
    [poster] = catalog["non_cj_variants"]
    data = await cj.create_ok(products=[{"vid": poster["vid"], "quantity": 1}])
    assert "orderId" not in data
    assert data["orderNumber"] == "ful_0001"
    detail = (await cj.detail("ful_0001"))["data"]  # found by our orderNumber
    assert detail["orderId"]


async def test_a_po_box_is_intercepted(cj: CJ) -> None:
    data = await cj.create_ok(shippingAddress="PO Box 12", payType=2)
    assert data["interceptOrderReasons"] == [
        {"code": 1001, "message": "The logistic does not deliver to PO Box addresses"}
    ]
    assert data["orderStatus"] == "CREATED"  # held, not paid
    plain = await cj.create_ok(orderNumber="ful_plain")
    assert plain["interceptOrderReasons"] == []


async def test_create_by_sku_and_cn_route(cj: CJ) -> None:
    assert CN_CASE is not None
    data = await cj.create_ok(
        fromCountryCode="CN",
        shippingCountryCode="DE",
        shippingCountry="Germany",
        logisticName="CJPacket Ordinary",
        products=[{"sku": CN_CASE.sku, "quantity": 1}],
    )
    assert data["productInfoList"][0]["variantId"] == CN_CASE.vid


async def test_pay_type_two_pays_from_balance(cj: CJ) -> None:
    data = await cj.create_ok(payType=2)
    assert data["orderStatus"] == "UNSHIPPED"
    assert data["cjPayUrl"] is None
    balance = (await cj.get("/shopping/pay/getBalance"))["data"]
    assert Decimal(str(balance["amount"])) == Decimal("10000.00") - Decimal(
        str(data["orderAmount"])
    )
    detail = (await cj.detail(data["orderId"]))["data"]
    assert detail["paymentDate"] is not None


async def test_pay_type_two_with_insufficient_balance_creates_nothing(cj: CJ) -> None:
    await cj.client.post("/_sim/config", json={"balance": "1.00"})
    body = await cj.create(payType=2)
    assert body["code"] == 1604000
    assert (await stats(cj))["orders"] == 0
    assert (await cj.detail("ful_0001"))["message"] == "order not found"


async def test_pay_type_three_and_v3_only_create(cj: CJ) -> None:
    three = await cj.create_ok(payType=3)
    assert three["orderStatus"] == "CREATED"
    assert three["cjPayUrl"] is None
    v3 = await cj.create_ok(3, orderNumber="ful_v3")
    assert v3["orderStatus"] == "CREATED"


async def test_list_filters_and_pages(cj: CJ) -> None:
    ids = [(await cj.create_ok(orderNumber=f"ful_{i}"))["orderId"] for i in range(5)]
    await cj.patch(f"{ORDER}/confirmOrder", {"orderId": ids[0]})
    page = (await cj.get(f"{ORDER}/list", {"pageNum": 1, "pageSize": 2}))["data"]
    assert page["total"] == 5
    assert page["pageNum"] == 1
    assert page["pageSize"] == 2
    assert [o["orderId"] for o in page["list"]] == [ids[4], ids[3]]
    chosen = (await cj.get(f"{ORDER}/list", [("orderIds", ids[1]), ("orderIds", ids[2])]))["data"]
    assert {o["orderId"] for o in chosen["list"]} == {ids[1], ids[2]}
    unpaid = (await cj.get(f"{ORDER}/list", {"status": "UNPAID"}))["data"]
    assert [o["orderId"] for o in unpaid["list"]] == [ids[0]]


async def test_delete_rules(cj: CJ) -> None:
    created = (await cj.create_ok(orderNumber="a"))["orderId"]
    unpaid = (await cj.create_ok(orderNumber="b"))["orderId"]
    paid = (await cj.create_ok(orderNumber="c", payType=2))["orderId"]
    await cj.patch(f"{ORDER}/confirmOrder", {"orderId": unpaid})

    async def delete(order_id: str) -> dict[str, object]:
        response = await cj.client.delete(
            "/api2.0/v1/shopping/order/deleteOrder",
            params={"orderId": order_id},
            headers=cj.headers,
        )
        data: dict[str, object] = response.json()
        return data

    in_cart = (await cj.create_ok(orderNumber="d"))["orderId"]
    await cj.post(f"{ORDER}/addCart", {"cjOrderIdList": [in_cart]})

    assert (await delete(created))["data"] == created
    assert (await delete("d"))["data"] == in_cart  # by orderNumber works too
    assert (await cj.detail(created))["data"]["orderStatus"] == "CANCELLED"
    # Seed 004 §1.8: once confirmed (UNPAID) or later, an order cannot be deleted. CJ does
    # not document the refusal's code; 1603002 "order delete fail" is the safe reading.
    refused = await delete(unpaid)
    assert refused["code"] == 1603002
    assert "UNPAID" in str(refused["message"])
    assert (await cj.detail(unpaid))["data"]["orderStatus"] == "UNPAID"
    assert (await delete(paid))["code"] == 1603002
    assert (await delete(created))["code"] == 1603002  # already cancelled
    assert (await delete("nope"))["code"] == 1603100


async def test_confirm_then_pay_balance(cj: CJ) -> None:
    order_id = (await cj.create_ok())["orderId"]
    early = await cj.post("/shopping/pay/payBalance", {"orderId": order_id})
    assert early["code"] == 1603101
    confirmed = await cj.patch(f"{ORDER}/confirmOrder", {"orderId": order_id})
    assert confirmed["data"] == order_id
    assert (await cj.detail(order_id))["data"]["orderStatus"] == "UNPAID"
    again = await cj.patch(f"{ORDER}/confirmOrder", {"orderId": order_id})
    assert again["code"] == 1603001
    paid = await cj.post("/shopping/pay/payBalance", {"orderId": order_id})
    assert paid["code"] == 200
    detail = (await cj.detail(order_id))["data"]
    assert detail["orderStatus"] == "UNSHIPPED"
    balance = (await cj.get("/shopping/pay/getBalance"))["data"]
    assert Decimal(str(balance["amount"])) == Decimal("10000") - Decimal(str(detail["orderAmount"]))
    assert (await cj.post("/shopping/pay/payBalance", {"orderId": order_id}))["code"] == 1603101


async def test_pay_balance_insufficient(cj: CJ) -> None:
    order_id = (await cj.create_ok())["orderId"]
    await cj.patch(f"{ORDER}/confirmOrder", {"orderId": order_id})
    await cj.client.post("/_sim/config", json={"balance": 5})
    assert (await cj.post("/shopping/pay/payBalance", {"orderId": order_id}))["code"] == 1604000
    assert (await cj.detail(order_id))["data"]["orderStatus"] == "UNPAID"


async def test_cart_flow_and_pay_balance_v2(cj: CJ) -> None:
    order_id = (await cj.create_ok(payType=3))["orderId"]
    cart = await cj.post(f"{ORDER}/addCart", {"cjOrderIdList": [order_id]})
    assert cart["data"]["successCount"] == 1
    assert (await cj.detail(order_id))["data"]["orderStatus"] == "IN_CART"
    confirm = await cj.post(f"{ORDER}/addCartConfirm", {"cjOrderIdList": [order_id]})
    shipment_id = confirm["data"]["shipmentsId"]
    assert shipment_id
    assert (await cj.detail(order_id))["data"]["orderStatus"] == "UNPAID"
    parent = await cj.post(f"{ORDER}/saveGenerateParentOrder", {"shipmentOrderId": shipment_id})
    pay_id = parent["data"]["payId"]
    body = {"shipmentOrderId": shipment_id, "payId": pay_id}
    assert (await cj.post("/shopping/pay/payBalanceV2", body))["code"] == 200
    assert (await cj.detail(order_id))["data"]["orderStatus"] == "UNSHIPPED"
    assert (await cj.post("/shopping/pay/payBalanceV2", body))["code"] == 1603101
    missing = await cj.post("/shopping/pay/payBalanceV2", {"shipmentOrderId": "1"})
    assert missing["code"] == 1603100


async def test_webhook_registration(cj: CJ) -> None:
    bad = await cj.post(
        "/webhook/set", {"order": {"type": "ENABLE", "callbackUrls": ["ftp://example.com/x"]}}
    )
    assert bad["code"] == 1607002
    body = {
        "order": {"type": "ENABLE", "callbackUrls": ["http://127.0.0.1:9/hook"]},
        "logistics": {"type": "ENABLE", "callbackUrls": ["http://localhost:9/hook"]},
        "product": {"type": "CANCEL", "callbackUrls": []},
        "stock": {"type": "CANCEL", "callbackUrls": []},
    }
    ok = await cj.post("/webhook/set", body)
    assert ok["data"] is True
    callback = (await cj.get("/setting/get"))["data"]["callback"]
    assert callback["order"] == {"type": "ENABLE", "urls": ["http://127.0.0.1:9/hook"]}
    assert callback["product"]["type"] == "CANCEL"


async def test_concurrent_duplicates_create_one_order(cj: CJ) -> None:
    answers = await asyncio.gather(*(cj.create() for _ in range(20)))
    codes = sorted(a["code"] for a in answers)
    assert codes == [200] + [1603003] * 19
    assert (await stats(cj))["orders_by_number"] == {"ful_0001": 1}
