"""Sandbox simulation (simulatePay, updateStatus, tracking) and the dispute flow."""

from __future__ import annotations

from decimal import Decimal

from tests.cjsim.support import CJ

SANDBOX = "/shopping/sandbox"


async def test_sandbox_endpoints_reject_normal_orders(cj: CJ) -> None:
    order_id = (await cj.create_ok())["orderId"]
    body = await cj.post(f"{SANDBOX}/simulatePay", {"orderId": order_id})
    assert body["code"] == 811
    assert body["result"] is False
    assert (await cj.post(f"{SANDBOX}/simulatePay", {"orderId": "404"}))["code"] == 803


async def test_sandbox_order_lifecycle_and_tracking(cj: CJ) -> None:
    order_id = (await cj.create_ok(isSandbox=1))["orderId"]
    assert (await cj.detail(order_id))["data"]["isSandbox"] == 1
    early = await cj.post(f"{SANDBOX}/updateStatus", {"orderId": order_id, "targetStatus": 400})
    assert early["code"] == 819
    paid = await cj.post(f"{SANDBOX}/simulatePay", {"orderId": order_id})
    assert paid["data"] is True
    assert (await cj.detail(order_id))["data"]["orderStatus"] == "UNSHIPPED"
    # No balance is spent on a sandbox order.
    balance = (await cj.get("/shopping/pay/getBalance"))["data"]["amount"]
    assert Decimal(str(balance)) == Decimal("10000")
    skipped = await cj.post(f"{SANDBOX}/updateStatus", {"orderId": order_id, "targetStatus": 500})
    assert skipped["code"] == 1600300
    for target in (400, 500):
        body = {"orderId": order_id, "targetStatus": target}
        step = await cj.post(f"{SANDBOX}/updateStatus", body)
        assert step["data"] is True
    shipped = (await cj.detail(order_id))["data"]
    assert shipped["orderStatus"] == "SHIPPED"
    track = shipped["trackNumber"]
    assert track
    assert shipped["trackingUrl"]
    info = await cj.get("/logistic/trackInfo", [("trackNumber", track), ("trackNumber", "nope")])
    (entry,) = info["data"]
    assert entry["trackingNumber"] == track
    assert entry["trackingStatus"] == "In transit"
    assert entry["logisticName"] == "USPS+"
    assert entry["trackingFrom"] == "US"
    assert entry["trackingTo"] == "US"
    await cj.post(f"{SANDBOX}/updateStatus", {"orderId": order_id, "targetStatus": 600})
    assert (await cj.detail(order_id))["data"]["orderStatus"] == "DELIVERED"
    legacy = await cj.get("/logistic/getTrackInfo", {"trackNumber": track})
    assert legacy["data"][0]["trackingStatus"] == "Delivered"
    renumbered = await cj.post(
        f"{SANDBOX}/updateTrackNumber", {"orderId": order_id, "trackNumber": "CJSIM123"}
    )
    assert renumbered["data"] is True
    assert (await cj.detail(order_id))["data"]["trackNumber"] == "CJSIM123"


async def test_dispute_flow(cj: CJ) -> None:
    unpaid_id = (await cj.create_ok(orderNumber="unpaid"))["orderId"]
    too_early = await cj.post("/disputes/disputeConfirmInfo", {"orderId": unpaid_id})
    assert too_early["code"] == 1607007
    paid = await cj.create_ok(payType=2)
    order_id = paid["orderId"]

    products = (await cj.get("/disputes/disputeProducts", {"orderId": order_id}))["data"]
    (line,) = products["productInfoList"]
    assert line["canChoose"] is True
    info = await cj.post(
        "/disputes/disputeConfirmInfo",
        {
            "orderId": order_id,
            "productInfoList": [
                {"lineItemId": line["lineItemId"], "quantity": 2, "price": line["price"]}
            ],
        },
    )
    data = info["data"]
    assert data["expectResultOptionList"] == [1, 2]
    reasons = {r["reasonName"]: r["disputeReasonId"] for r in data["disputeReasonList"]}
    assert reasons["Unfulfilled Order Cancellation"] == 1
    assert Decimal(str(data["maxAmount"])) == Decimal(str(paid["orderAmount"]))

    request = {
        "businessDisputeId": "ful_0001-cancel",
        "orderId": order_id,
        "disputeReasonId": reasons["Unfulfilled Order Cancellation"],
        "expectType": 1,
        "refundType": 1,
        "messageText": "Customer cancelled before shipment",
    }
    created = await cj.post("/disputes/create", request)
    assert created["data"] is True  # as CJ's public docs answer: no id
    dispute_id = (await cj.detail(order_id))["data"]["disputeId"]
    assert isinstance(dispute_id, str)
    assert dispute_id
    assert (await cj.post("/disputes/create", request))["code"] == 1607008
    second = await cj.post("/disputes/create", {**request, "businessDisputeId": "other"})
    assert second["code"] == 1607008  # one open dispute per order

    listed = (await cj.get("/disputes/getDisputeList", {"orderId": order_id}))["data"]
    assert listed["total"] == 1
    assert listed["list"][0]["disputeId"] == dispute_id
    assert listed["list"][0]["businessDisputeId"] == "ful_0001-cancel"
    assert listed["list"][0]["status"] == "PROCESSING"

    cancel = {"orderId": order_id, "disputeId": dispute_id}
    assert (await cj.post("/disputes/cancel", cancel))["data"] is True
    assert (await cj.post("/disputes/cancel", cancel))["code"] == 1607009
    not_paid = await cj.post("/disputes/create", {**request, "orderId": unpaid_id})
    assert not_paid["code"] == 1607008


async def test_dispute_refund_cancels_the_order(cj: CJ) -> None:
    paid = await cj.create_ok(payType=2)
    created = await cj.post(
        "/disputes/create",
        {
            "businessDisputeId": "refund-1",
            "orderId": paid["orderId"],
            "disputeReasonId": 1,
            "expectType": 1,
        },
    )
    assert created["data"] is True
    dispute_id = (await cj.detail(paid["orderId"]))["data"]["disputeId"]
    response = await cj.client.post(f"/_sim/disputes/{dispute_id}/resolve", json={})
    assert response.status_code == 200
    assert response.json()["dispute"]["finallyDeal"] == 1
    assert (await cj.detail(paid["orderId"]))["data"]["orderStatus"] == "CANCELLED"
    balance = (await cj.get("/shopping/pay/getBalance"))["data"]["amount"]
    assert Decimal(str(balance)) == Decimal("10000")
