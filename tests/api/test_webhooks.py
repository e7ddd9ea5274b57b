"""`POST /webhooks/cj` with payloads shaped exactly like CJ's documented samples: signed,
unsigned, forged, duplicate, out of order, unknown topic, malformed, path token, size cap."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.core.config import Settings
from app.db.models import Fulfillment, FulfillmentEvent, OutboxMessage, WebhookInboxMessage
from tests.fixtures.app import make_settings

OPEN_ID = "1234567890123"
CJ_ORDER_ID = 210823100016290555  # above 2**53: must survive as text, exactly
ACK = {"code": 200, "result": "success", "message": "received"}


@pytest.fixture
def settings(request: pytest.FixtureRequest, clean_db: AsyncEngine, redis_url: str) -> Settings:
    marker = request.node.get_closest_marker("settings")
    overrides: dict[str, Any] = dict(marker.kwargs) if marker else {}
    values: dict[str, Any] = {
        "database_url": clean_db.url.render_as_string(False),
        "redis_url": redis_url,
        "cj_open_id": OPEN_ID,
        "cj_webhook_verify": "enforce",
    }
    return make_settings(**(values | overrides))


def sign(body: bytes, open_id: str = OPEN_ID) -> str:
    return base64.b64encode(hmac.new(open_id.encode(), body, hashlib.sha256).digest()).decode()


def order_message(order_number: str, status: str, **params: Any) -> bytes:
    """CJ's ORDER sample (webhook docs), with its orderItems made valid JSON."""
    message = {
        "messageId": uuid.uuid4().hex,
        "type": "ORDER",
        "messageType": params.pop("messageType", "UPDATE"),
        "params": {
            "orderNumber": order_number,
            "cjOrderId": CJ_ORDER_ID,
            "orderStatus": status,
            "logisticName": "CJPacket Ordinary",
            "trackNumber": None,
            "createDate": "2021-08-23 11:31:45",
            "updateDate": "2021-08-23 11:31:45",
            "payDate": None,
            "deliveryDate": None,
            "completeDate": None,
            "orderItems": [
                {
                    "vid": "1392053744945991680",
                    "quantity": 1,
                    "sellPrice": 0.57,
                    "lineItemId": "2505170958390976500",
                    "storeLineItemId": "16045188153625",
                    "productionOrderStatus": 1,
                    "abnormalType": [6, 9],
                }
            ],
            **params,
        },
    }
    return json.dumps(message).encode()


def logistic_message(cj_order_id: int, tracking_status: int, number: str) -> bytes:
    """CJ's LOGISTIC sample: `orderId` is CJ's id, events are a JSON string."""
    events = [
        {
            "status": tracking_status,
            "activity": " Delivered, PO Box",
            "location": " NENANA,AK 99760",
            "eventTime": "2024-01-18 07:59:22",
            "statusDesc": "Delivered",
            "thirdActivity": "Delivered, PO Box",
            "thirdLocation": "NENANA,AK 99760",
            "thirdEventTime": "2024-01-18 07:59:22",
        }
    ]
    message = {
        "messageId": uuid.uuid4().hex,
        "type": "LOGISTIC",
        "messageType": "UPDATE",
        "openId": 12312,
        "params": {
            "orderId": cj_order_id,
            "logisticName": "CJPacket Ordinary",
            "trackingNumber": number,
            "trackingStatus": tracking_status,
            "logisticsTrackEvents": json.dumps(events),
        },
    }
    return json.dumps(message).encode()


@pytest.fixture
async def fulfillment(clean_db: AsyncEngine) -> Fulfillment:
    """A fulfillment CJ has accepted (status created), as the submitter leaves it."""
    row = Fulfillment(
        id=f"ful_{uuid.uuid4().hex[:20]}",
        external_id="ful_medusa_1",
        order_id="order_medusa_1",
        option_id="ca-standard",
        status="created",
        cj_order_number=f"cjf-{uuid.uuid4().hex[:20]}",
        from_country="CN",
        shipping_address={"country_code": "CA"},
        tracking=[],
        tracking_events=[],
    )
    async with async_sessionmaker(clean_db, expire_on_commit=False).begin() as session:
        session.add(row)
    return row


async def reload(engine: AsyncEngine, fulfillment_id: str) -> Fulfillment:
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        found = await session.get(Fulfillment, fulfillment_id)
        assert found is not None
        return found


async def inbox(engine: AsyncEngine) -> list[WebhookInboxMessage]:
    async with async_sessionmaker(engine)() as session:
        rows = await session.scalars(select(WebhookInboxMessage).order_by(WebhookInboxMessage.id))
        return list(rows)


async def events(engine: AsyncEngine, fulfillment_id: str) -> list[tuple[str, str | None, str]]:
    async with async_sessionmaker(engine)() as session:
        rows = await session.scalars(
            select(FulfillmentEvent)
            .where(FulfillmentEvent.fulfillment_id == fulfillment_id)
            .order_by(FulfillmentEvent.id)
        )
        return [(e.source, e.from_status, e.to_status) for e in rows]


async def post(
    client: httpx.AsyncClient, body: bytes, *, signed: bool = True, path: str = "/webhooks/cj"
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["sign"] = sign(body)
    return await client.post(path, content=body, headers=headers)


async def test_signed_order_message_is_stored_and_applied(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "SHIPPED", trackNumber="CJPKL7160102171YQ")
    response = await post(client, body)
    assert response.status_code == 200
    assert response.json() == ACK

    stored = await reload(clean_db, fulfillment.id)
    assert stored.status == "shipped"
    assert stored.cj_order_id == str(CJ_ORDER_ID)
    assert stored.cj_status == "SHIPPED"
    assert [t["number"] for t in stored.tracking] == ["CJPKL7160102171YQ"]
    assert await events(clean_db, fulfillment.id) == [("webhook", "created", "shipped")]
    [row] = await inbox(clean_db)
    assert (row.topic, row.status, row.signature_valid) == ("ORDER", "applied", True)
    assert row.raw_body == body.decode()


@pytest.mark.parametrize("sign_header", [None, "", "bm90IHRoZSByaWdodCBzaWduYXR1cmU="])
async def test_unsigned_or_forged_message_is_401_and_changes_nothing(
    client: httpx.AsyncClient,
    clean_db: AsyncEngine,
    fulfillment: Fulfillment,
    sign_header: str | None,
) -> None:
    body = order_message(fulfillment.cj_order_number, "CANCELLED")
    headers = {"Content-Type": "application/json"}
    if sign_header is not None:
        headers["sign"] = sign_header
    response = await client.post("/webhooks/cj", content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert (await reload(clean_db, fulfillment.id)).status == "created"
    assert await inbox(clean_db) == []


async def test_a_signature_with_another_accounts_open_id_is_forged(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "CANCELLED")
    headers = {"Content-Type": "application/json", "sign": sign(body, "999")}
    response = await client.post("/webhooks/cj", content=body, headers=headers)
    assert response.status_code == 401
    assert (await reload(clean_db, fulfillment.id)).status == "created"


async def test_a_duplicate_is_acknowledged_and_applied_once(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "UNSHIPPED")
    first, second = await post(client, body), await post(client, body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == ACK
    assert await events(clean_db, fulfillment.id) == [("webhook", "created", "unshipped")]
    assert len(await inbox(clean_db)) == 1


async def test_out_of_order_messages_never_move_back_nor_erase(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    delivered = order_message(fulfillment.cj_order_number, "DELIVERED", trackNumber="TRK1")
    late = order_message(fulfillment.cj_order_number, "SHIPPED", trackNumber=None)
    assert (await post(client, delivered)).status_code == 200
    assert (await post(client, late)).status_code == 200
    stored = await reload(clean_db, fulfillment.id)
    assert stored.status == "delivered"
    assert [t["number"] for t in stored.tracking] == ["TRK1"]
    assert await events(clean_db, fulfillment.id) == [("webhook", "created", "delivered")]


async def test_logistic_message_with_json_string_events(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    assert (await post(client, order_message(fulfillment.cj_order_number, "SHIPPED"))).is_success
    response = await post(client, logistic_message(CJ_ORDER_ID, 12, "number12345678"))
    assert response.status_code == 200
    stored = await reload(clean_db, fulfillment.id)
    assert stored.status == "delivered"
    assert [t["number"] for t in stored.tracking] == ["number12345678"]
    assert stored.tracking_events == [
        {
            "at": "2024-01-18 07:59:22",
            "status": 12,
            "activity": "Delivered, PO Box",
            "location": "NENANA,AK 99760",
        }
    ]


async def test_order_connected_carries_the_final_cj_order_id(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    first = order_message(fulfillment.cj_order_number, "CREATED")
    final = order_message(
        fulfillment.cj_order_number,
        "CREATED",
        messageType="ORDER_CONNNECTED",
        cjOrderId=2108231000162905551,
    )
    assert (await post(client, first)).is_success
    assert (await post(client, final)).is_success
    assert (await reload(clean_db, fulfillment.id)).cj_order_id == "2108231000162905551"


async def test_unknown_topic_and_unknown_order_are_acknowledged(
    client: httpx.AsyncClient, clean_db: AsyncEngine
) -> None:
    stock = json.dumps(
        {"messageId": "m-stock-1", "type": "STOCK", "messageType": "UPDATE", "params": {}}
    ).encode()
    stranger = order_message("not-one-of-ours", "SHIPPED")
    assert (await post(client, stock)).json() == ACK
    assert (await post(client, stranger)).json() == ACK
    rows = await inbox(clean_db)
    assert [(r.topic, r.status) for r in rows] == [("STOCK", "ignored"), ("ORDER", "ignored")]
    assert rows[1].error is not None


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'{"type": "ORDER", "params": {}}'], ids=str
)
async def test_malformed_body_is_400_and_kept_for_inspection(
    client: httpx.AsyncClient, clean_db: AsyncEngine, body: bytes
) -> None:
    response = await post(client, body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    [row] = await inbox(clean_db)
    assert row.status == "malformed"
    assert row.raw_body == body.decode()


async def test_body_over_the_cap_is_413(client: httpx.AsyncClient, clean_db: AsyncEngine) -> None:
    body = order_message("x", "CREATED", padding="x" * 300_000)
    response = await post(client, body)
    assert response.status_code == 413
    assert await inbox(clean_db) == []


@pytest.mark.settings(cj_webhook_verify="log")
async def test_unsigned_message_when_not_enforced_waits_for_confirmation(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "CANCELLED")
    response = await post(client, body, signed=False)
    assert response.json() == ACK
    assert (await reload(clean_db, fulfillment.id)).status == "created"
    [row] = await inbox(clean_db)
    assert (row.status, row.signature_valid) == ("awaiting_confirmation", False)


@pytest.mark.settings(cj_webhook_path_token="s3cret-path-token")
async def test_path_token_is_a_second_factor(
    client: httpx.AsyncClient, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "UNSHIPPED")
    assert (await post(client, body)).status_code == 404
    assert (await post(client, body, path="/webhooks/cj/wrong")).status_code == 404
    assert (await post(client, body, path="/webhooks/cj/s3cret-path-token")).status_code == 200


@pytest.mark.settings(
    notify_url="http://127.0.0.1:9/never-called", notify_secret="a-plain-shared-secret"
)
async def test_changes_are_queued_for_the_store_in_the_same_transaction(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    number = fulfillment.cj_order_number
    shipped = order_message(number, "SHIPPED", trackNumber="TRK1")
    for body in (shipped, shipped, order_message(number, "SHIPPED", trackNumber="TRK2")):
        assert (await post(client, body)).status_code == 200
    assert (await post(client, logistic_message(CJ_ORDER_ID, 5, "TRK2"))).status_code == 200
    async with async_sessionmaker(clean_db)() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        queued = [(row.sink, row.event_type) for row in rows]
    # shipped once (the duplicate changes nothing), then the second number once.
    assert queued == [("webhook", "shipped"), ("webhook", "tracking_updated")]
