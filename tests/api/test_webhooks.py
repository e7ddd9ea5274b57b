"""`POST /webhooks/cj/{token}` with payloads shaped exactly like CJ's documented samples:
the intake stores (signed, unsigned, forged, duplicate, unknown topic, malformed, path
token, size cap), the worker's applier applies what is CJ's own word (a valid sign on the
path token) and leaves everything else to CJ's confirmation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.container import Container
from app.core.config import Settings
from app.db.models import (
    Fulfillment,
    FulfillmentEvent,
    FulfillmentItem,
    FulfillmentParcel,
    OutboxMessage,
    WebhookInboxMessage,
)
from app.services.tracking_applier import MAX_EVENT_TEXT, MAX_TRACK_EVENTS
from app.services.webhook_applier import WebhookApplier
from tests.fixtures.app import make_settings, settings_marks
from tests.fixtures.statements import StatementLog

OPEN_ID = "1234567890123"
TOKEN = "s3cret-path-token"
PATH = f"/webhooks/cj/{TOKEN}"
CJ_ORDER_ID = 210823100016290555  # above 2**53: must survive as text, exactly
ACK = {"code": 200, "result": "success", "message": "received"}
NOTIFYING = {"notify_url": "http://127.0.0.1:9/never-called", "notify_secret": "a-shared-secret"}


@pytest.fixture
def settings(request: pytest.FixtureRequest, clean_db: AsyncEngine, redis_url: str) -> Settings:
    overrides = settings_marks(request)
    values: dict[str, Any] = {
        "database_url": clean_db.url.render_as_string(False),
        "redis_url": redis_url,
        "cj_open_id": OPEN_ID,
        "cj_webhook_verify": "enforce",
        "cj_webhook_path_token": TOKEN,
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


def split_message(original: int, *codes: str) -> bytes:
    """CJ's ORDERSPLIT (API_FACTS §3.6): the original order and the orders it became."""
    parts = [
        {
            "orderCode": code,
            "createAt": 1700000000000,
            "orderStatus": 300,
            "productList": [{"sku": "S", "vid": "V", "quantity": 1, "productCode": "P"}],
        }
        for code in codes
    ]
    message = {
        "messageId": uuid.uuid4().hex,
        "type": "ORDERSPLIT",
        "messageType": "UPDATE",
        "params": {
            "originalOrderId": original,
            "orderSplitTime": 1700000000000,
            "splitOrderList": parts,
        },
    }
    return json.dumps(message).encode()


@pytest.fixture
async def fulfillment(clean_db: AsyncEngine) -> Fulfillment:
    """A fulfillment CJ has accepted (status created, CJ's order id known), as the
    submitter leaves it."""
    row = Fulfillment(
        id=f"ful_{uuid.uuid4().hex[:20]}",
        external_id="ful_medusa_1",
        order_id="order_medusa_1",
        option_id="ca-standard",
        status="created",
        cj_order_number=f"cjf-{uuid.uuid4().hex[:20]}",
        cj_order_id=str(CJ_ORDER_ID),
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


async def queued_for_the_store(engine: AsyncEngine) -> list[str]:
    async with async_sessionmaker(engine)() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [row.event_type for row in rows]


async def post(
    client: httpx.AsyncClient, body: bytes, *, signed: bool = True, path: str = PATH
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["sign"] = sign(body)
    return await client.post(path, content=body, headers=headers)


async def apply(app: FastAPI) -> int:
    """What the worker does next: apply the stored messages."""
    container: Container = app.state.container
    return await container.webhook_applier.apply_due()


async def deliver(
    app: FastAPI, client: httpx.AsyncClient, *bodies: bytes, path: str = PATH
) -> None:
    for body in bodies:
        response = await post(client, body, path=path)
        assert response.status_code == 200, response.text
        assert response.json() == ACK
    await apply(app)


async def test_the_intake_only_stores_and_the_worker_applies(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "SHIPPED", trackNumber="CJPKL7160102171YQ")
    response = await post(client, body)
    assert response.status_code == 200
    assert response.json() == ACK
    [row] = await inbox(clean_db)
    assert (row.status, row.signature_valid, row.path_token_valid) == ("received", True, True)
    assert row.raw_body == body.decode()
    assert (await reload(clean_db, fulfillment.id)).status == "created"

    assert await apply(app) == 1
    stored = await reload(clean_db, fulfillment.id)
    assert stored.status == "shipped"
    assert stored.cj_order_id == str(CJ_ORDER_ID)
    assert stored.cj_status == "SHIPPED"
    assert [t["number"] for t in stored.tracking] == ["CJPKL7160102171YQ"]
    assert await events(clean_db, fulfillment.id) == [("webhook", "created", "shipped")]
    [row] = await inbox(clean_db)
    assert (row.topic, row.status) == ("ORDER", "applied")


async def test_the_intake_is_one_statement_to_the_database(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    """What Postgres receives for a delivery: the insert alone, for a new message and for
    a duplicate; no BEGIN, COMMIT or ping (a connection in steady use is not checked)."""
    container: Container = app.state.container
    await container.engine.dispose()
    around: list[str] = []  # asyncpg's other queries: transactions, pings

    def log_queries(_dbapi: Any, record: Any) -> None:
        record.driver_connection.add_query_logger(lambda query: around.append(query.query))

    event.listen(container.engine.sync_engine, "connect", log_queries)
    body = order_message(fulfillment.cj_order_number, "UNSHIPPED")
    with StatementLog(container.engine).recording() as executed:
        for _ in range(2):
            assert (await post(client, body)).status_code == 200
    assert [query.split()[:3] for query in executed] == [["INSERT", "INTO", "webhook_inbox"]] * 2
    assert around == []
    assert len(await inbox(clean_db)) == 1


@pytest.mark.settings(**NOTIFYING)
async def test_a_batch_loads_its_fulfillments_items_once_and_writes_each_row_once(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine
) -> None:
    """The worker's cost is its round trips: one query for every fulfillment's items (the
    notifications carry them), and one statement each for the batch's fulfillment changes,
    their events, their notifications and the stored messages' new statuses (the unit of
    work flushes once per batch, not per change)."""
    numbers = [f"cjf-batch-{n}" for n in range(3)]
    async with async_sessionmaker(clean_db).begin() as session:
        for n, number in enumerate(numbers):
            row = Fulfillment(
                id=f"ful_batch_{n}",
                external_id=f"ful_medusa_batch_{n}",
                order_id=f"order_batch_{n}",
                option_id="ca-standard",
                status="created",
                cj_order_number=number,
                cj_order_id=str(CJ_ORDER_ID + n),
                from_country="CN",
                shipping_address={"country_code": "CA"},
                tracking=[],
                tracking_events=[],
            )
            row.items = [FulfillmentItem(line_item_id=f"li_{n}", vid="V1", quantity=1)]
            session.add(row)
    for n, number in enumerate(numbers):
        body = order_message(number, "SHIPPED", cjOrderId=CJ_ORDER_ID + n, trackNumber=f"T{n}")
        assert (await post(client, body)).status_code == 200
    container: Container = app.state.container
    with StatementLog(container.engine).recording() as executed:
        assert await apply(app) == 3
    starts = [" ".join(query.split()[:3]) for query in executed]
    assert sum(1 for q in executed if "FROM fulfillment_items" in q) == 1
    assert starts.count("UPDATE fulfillments SET") == 1
    assert starts.count("INSERT INTO fulfillment_events") == 1
    assert starts.count("INSERT INTO outbox") == 1
    assert starts.count("UPDATE webhook_inbox SET") == 1  # the batch's rows together
    assert await queued_for_the_store(clean_db) == ["shipped"] * 3


@pytest.mark.parametrize("sign_header", [None, "", "bm90IHRoZSByaWdodCBzaWduYXR1cmU=", b"\xff"])
async def test_unsigned_or_forged_message_is_401_and_changes_nothing(
    client: httpx.AsyncClient,
    clean_db: AsyncEngine,
    fulfillment: Fulfillment,
    sign_header: str | bytes | None,
) -> None:
    body = order_message(fulfillment.cj_order_number, "CANCELLED")
    headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
    if sign_header is not None:
        headers["sign"] = sign_header
    response = await client.post(PATH, content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert (await reload(clean_db, fulfillment.id)).status == "created"
    assert await inbox(clean_db) == []


async def test_a_signature_with_another_accounts_open_id_is_forged(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "CANCELLED")
    headers = {"Content-Type": "application/json", "sign": sign(body, "999")}
    response = await client.post(PATH, content=body, headers=headers)
    assert response.status_code == 401
    assert (await reload(clean_db, fulfillment.id)).status == "created"


async def test_a_duplicate_is_acknowledged_and_applied_once(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "UNSHIPPED")
    await deliver(app, client, body, body)
    await deliver(app, client, body)
    assert await events(clean_db, fulfillment.id) == [("webhook", "created", "unshipped")]
    assert len(await inbox(clean_db)) == 1


async def test_out_of_order_messages_never_move_back_nor_erase(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    delivered = order_message(fulfillment.cj_order_number, "DELIVERED", trackNumber="TRK1")
    late = order_message(fulfillment.cj_order_number, "SHIPPED", trackNumber=None)
    await deliver(app, client, delivered, late)  # one batch, in the order they came
    await deliver(app, client, order_message(fulfillment.cj_order_number, "UNSHIPPED"))
    stored = await reload(clean_db, fulfillment.id)
    assert stored.status == "delivered"
    assert [t["number"] for t in stored.tracking] == ["TRK1"]
    assert await events(clean_db, fulfillment.id) == [("webhook", "created", "delivered")]


async def test_logistic_message_with_json_string_events(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    await deliver(app, client, order_message(fulfillment.cj_order_number, "SHIPPED"))
    await deliver(app, client, logistic_message(CJ_ORDER_ID, 12, "number12345678"))
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


async def test_stored_scan_events_are_bounded_per_fulfillment(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    message = json.loads(logistic_message(CJ_ORDER_ID, 5, "TRK1"))
    scans = [
        {"status": 5, "activity": "x" * 1000, "eventTime": f"2024-01-{d:02d} 00:00:{s:02d}"}
        for d in range(1, 4)
        for s in range(60)
    ]
    message["params"]["logisticsTrackEvents"] = json.dumps(scans)
    await deliver(app, client, json.dumps(message).encode())
    stored = await reload(clean_db, fulfillment.id)
    assert len(stored.tracking_events) == MAX_TRACK_EVENTS
    assert stored.tracking_events[-1]["at"] == "2024-01-03 00:00:59"  # the newest are kept
    assert {len(e["activity"]) for e in stored.tracking_events} == {MAX_EVENT_TEXT}


async def test_order_connected_never_replaces_the_cj_order_id(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    other = order_message(
        fulfillment.cj_order_number,
        "CREATED",
        messageType="ORDER_CONNNECTED",
        cjOrderId=2108231000162905551,
    )
    await deliver(app, client, other)
    assert (await reload(clean_db, fulfillment.id)).cj_order_id == str(CJ_ORDER_ID)


async def test_a_cj_order_id_we_do_not_know_yet_waits_for_cj(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    async with async_sessionmaker(clean_db).begin() as session:
        row = await session.get_one(Fulfillment, fulfillment.id)
        row.cj_order_id = None
    connected = order_message(
        fulfillment.cj_order_number, "CREATED", messageType="ORDER_CONNNECTED"
    )
    await deliver(app, client, connected)
    assert (await reload(clean_db, fulfillment.id)).cj_order_id is None
    [row] = await inbox(clean_db)
    assert row.status == "awaiting_confirmation"  # the confirmer asks CJ by our orderNumber


async def test_unknown_topic_and_unknown_order_are_acknowledged(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine
) -> None:
    makeup = json.dumps(
        {"messageId": "m-makeup-1", "type": "MAKEUP", "messageType": "INSERT", "params": {}}
    ).encode()
    stranger = order_message("not-one-of-ours", "SHIPPED", cjOrderId=1)
    await deliver(app, client, makeup, stranger)
    rows = await inbox(clean_db)
    assert [(r.topic, r.status) for r in rows] == [("MAKEUP", "ignored"), ("ORDER", "ignored")]
    assert rows[1].error is not None


async def test_catalogue_callbacks_of_other_variants_and_naming_none(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine
) -> None:
    def message(message_id: str, topic: str, params: dict[str, object]) -> bytes:
        body = {"messageId": message_id, "type": topic, "messageType": "UPDATE", "params": params}
        return json.dumps(body).encode()

    stranger = message("m-stock-1", "STOCK", {"V-OTHER": [{"vid": "V-OTHER", "storageNum": 3}]})
    empty = message("m-stock-2", "STOCK", {})
    product = message("m-product-1", "PRODUCT", {"pid": "2503190327561613000"})
    await deliver(app, client, stranger, empty, product)
    rows = await inbox(clean_db)
    assert [(r.topic, r.status) for r in rows] == [
        ("STOCK", "ignored"), ("STOCK", "malformed"), ("PRODUCT", "ignored"),
    ]  # fmt: skip
    assert rows[0].error == "names no product or variant of ours"


def _deep(depth: int) -> bytes:
    return b'{"messageId": "deep", "type": "ORDER", "params": ' + b"[" * depth + b"]" * depth + b"}"


def _order(**params: Any) -> bytes:
    return order_message("cjf-x", "CREATED", **params)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"type": "ORDER", "params": {}}',
        b"\xff\xfe not utf-8",
        b'{"messageId": "nul\\u0000", "type": "ORDER", "params": {"orderNumber": "a\\u0000"}}',
        json.dumps({"messageId": "m" * 201, "type": "ORDER", "params": {}}).encode(),
        json.dumps({"messageId": {}, "type": "ORDER", "params": {}}).encode(),
        _deep(100_000),
    ],
    ids=["not-json", "list", "no-message-id", "not-utf8", "nul", "long-id", "odd-id", "deep"],
)
async def test_a_body_we_cannot_read_is_200_and_kept_as_malformed(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, body: bytes
) -> None:
    response = await post(client, body)
    assert response.status_code == 200
    assert response.json() == ACK
    await apply(app)
    [row] = await inbox(clean_db)
    assert (row.status, bool(row.error)) == ("malformed", True)
    assert row.raw_body == body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


@pytest.mark.parametrize(
    "body",
    [
        _order(cjOrderId={}),
        _order(cjOrderId=1e300),
        _order(cjOrderId=True),
        _order(orderStatus="S" * 33),
        _order(logisticName="L" * 129),
        _order(trackNumber="T" * 129),
        _order(orderNumber=["cjf-x"]),
        json.dumps(
            {"messageId": "split-1", "type": "ORDERSPLIT", "params": {"splitOrderList": 3}}
        ).encode(),
    ],
    ids=[
        "id-object",
        "id-1e300",
        "id-bool",
        "long-status",
        "long-logistic",
        "long-number",
        "list-number",
        "split-list",
    ],
)
async def test_params_of_odd_types_or_sizes_are_malformed_not_an_error(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, body: bytes
) -> None:
    response = await post(client, body)
    assert response.status_code == 200
    assert await apply(app) == 1
    [row] = await inbox(clean_db)
    assert row.status == "malformed"
    assert row.error is not None
    assert "params" in row.error


async def test_a_message_id_may_be_200_characters(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    message = json.loads(order_message(fulfillment.cj_order_number, "UNSHIPPED"))
    message["messageId"] = "m" * 200
    await deliver(app, client, json.dumps(message).encode())
    [row] = await inbox(clean_db)
    assert (row.message_id, row.status) == ("m" * 200, "applied")


async def test_body_over_the_cap_is_413(client: httpx.AsyncClient, clean_db: AsyncEngine) -> None:
    body = order_message("x", "CREATED", padding="x" * 300_000)
    response = await post(client, body)
    assert response.status_code == 413
    assert await inbox(clean_db) == []


async def test_without_the_path_token_nothing_is_stored(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "DELIVERED")
    assert (await post(client, body, path="/webhooks/cj")).status_code == 404
    assert (await post(client, body, path="/webhooks/cj/wrong")).status_code == 404
    assert await inbox(clean_db) == []


@pytest.mark.settings(cj_webhook_path_token="new-token", cj_webhook_path_tokens_previous=TOKEN)
async def test_while_a_token_rotates_both_are_accepted(
    client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    first = order_message(fulfillment.cj_order_number, "UNSHIPPED")
    second = order_message(fulfillment.cj_order_number, "SHIPPED")
    assert (await post(client, first, path="/webhooks/cj/new-token")).status_code == 200
    assert (await post(client, second)).status_code == 200  # the previous token
    assert (await post(client, second, path="/webhooks/cj/older")).status_code == 404
    assert [r.path_token_valid for r in await inbox(clean_db)] == [True, True]


FORGED = [
    ("delivered", lambda n: order_message(n, "DELIVERED", trackNumber="EVIL1")),
    ("cancelled", lambda n: order_message(n, "CANCELLED")),
    (
        "connected",
        lambda n: order_message(
            n, "CREATED", messageType="ORDER_CONNNECTED", cjOrderId=2108231000162905551
        ),
    ),
    ("logistic", lambda _n: logistic_message(CJ_ORDER_ID, 12, "EVIL2")),
    ("returned", lambda _n: logistic_message(CJ_ORDER_ID, 14, "EVIL3")),
]


@pytest.mark.settings(cj_webhook_path_token=None, **NOTIFYING)
@pytest.mark.parametrize("forged", [f for _, f in FORGED], ids=[name for name, _ in FORGED])
async def test_a_signed_message_without_the_path_token_changes_nothing_before_cj_confirms(
    app: FastAPI,
    client: httpx.AsyncClient,
    clean_db: AsyncEngine,
    fulfillment: Fulfillment,
    forged: Any,
) -> None:
    """Whoever saw one delivery knows the openId and can sign (CJ puts it in the body)."""
    await deliver(app, client, forged(fulfillment.cj_order_number), path="/webhooks/cj")
    stored = await reload(clean_db, fulfillment.id)
    assert (stored.status, stored.cj_order_id, stored.tracking) == (
        "created",
        str(CJ_ORDER_ID),
        [],
    )
    assert stored.tracking_events == []
    assert await events(clean_db, fulfillment.id) == []
    assert await queued_for_the_store(clean_db) == []
    [row] = await inbox(clean_db)
    assert (row.signature_valid, row.path_token_valid) == (True, False)
    assert row.status == "awaiting_confirmation"


@pytest.mark.settings(cj_webhook_path_token=None)
async def test_a_split_without_the_path_token_maps_no_parcel(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    """A mapped parcel's tracking would reach the fulfillment: only CJ's own word maps one."""
    await deliver(app, client, split_message(CJ_ORDER_ID, "EVIL-P1"), path="/webhooks/cj")
    async with async_sessionmaker(clean_db)() as session:
        assert list(await session.scalars(select(FulfillmentParcel))) == []
    [row] = await inbox(clean_db)
    assert (row.signature_valid, row.status) == (True, "ignored")


@pytest.mark.settings(cj_webhook_verify="log", cj_webhook_path_token=None)
async def test_unsigned_message_when_not_enforced_waits_for_confirmation(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    body = order_message(fulfillment.cj_order_number, "CANCELLED")
    response = await post(client, body, signed=False, path="/webhooks/cj")
    assert response.json() == ACK
    await apply(app)
    assert (await reload(clean_db, fulfillment.id)).status == "created"
    [row] = await inbox(clean_db)
    assert (row.status, row.signature_valid) == ("awaiting_confirmation", False)


async def test_a_message_that_keeps_failing_is_dead_lettered_and_the_others_go_on(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    """A real database refusal (a constraint added for the test) fails one message's apply."""
    async with clean_db.begin() as conn:
        await conn.execute(
            text(
                "ALTER TABLE fulfillment_events ADD CONSTRAINT test_refuses_unshipped"
                " CHECK (to_status <> 'unshipped')"
            )
        )
    try:
        bad = order_message(fulfillment.cj_order_number, "UNSHIPPED")
        good = json.dumps(
            {"messageId": "m-stock-2", "type": "ORDER", "params": {"orderNumber": "nobody"}}
        ).encode()
        for body in (bad, good):
            assert (await post(client, body)).status_code == 200
        container: Container = app.state.container
        applier = WebhookApplier(container.sessionmaker, container.tracking, max_attempts=2)
        assert await applier.apply_due() == 2
        rows = await inbox(clean_db)
        assert [(r.status, r.attempts) for r in rows] == [("received", 1), ("ignored", 0)]
        async with clean_db.begin() as conn:
            await conn.execute(text("UPDATE webhook_inbox SET next_attempt_at = now()"))
        await applier.apply_due()
        [dead, _] = await inbox(clean_db)
        assert (dead.status, dead.attempts) == ("dead", 2)
        assert dead.error is not None
        assert "test_refuses_unshipped" in dead.error
        assert (await reload(clean_db, fulfillment.id)).status == "created"
    finally:
        async with clean_db.begin() as conn:
            await conn.execute(
                text("ALTER TABLE fulfillment_events DROP CONSTRAINT test_refuses_unshipped")
            )


@pytest.mark.settings(
    notify_url="http://127.0.0.1:9/never-called", notify_secret="a-plain-shared-secret"
)
async def test_changes_are_queued_for_the_store_in_the_same_transaction(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    number = fulfillment.cj_order_number
    shipped = order_message(number, "SHIPPED", trackNumber="TRK1")
    await deliver(
        app, client, shipped, shipped, order_message(number, "SHIPPED", trackNumber="TRK2")
    )
    await deliver(app, client, logistic_message(CJ_ORDER_ID, 5, "TRK2"))
    async with async_sessionmaker(clean_db)() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        queued = [(row.sink, row.event_type) for row in rows]
    # shipped once (the duplicate changes nothing), then the second number once.
    assert queued == [("webhook", "shipped"), ("webhook", "tracking_updated")]


@pytest.mark.settings(
    notify_url="http://127.0.0.1:9/never-called", notify_secret="a-plain-shared-secret"
)
async def test_tracking_problems_are_events_and_notifications(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    """LOGISTIC trackingStatus 13 (exception) and 14 (returned): news for the store, once
    each, with no status of ours changed (CJ decides what follows)."""
    await deliver(app, client, logistic_message(CJ_ORDER_ID, 5, "TRK1"))
    exception = logistic_message(CJ_ORDER_ID, 13, "TRK1")
    await deliver(app, client, exception, logistic_message(CJ_ORDER_ID, 13, "TRK1"))
    await deliver(app, client, logistic_message(CJ_ORDER_ID, 14, "TRK1"))
    stored = await reload(clean_db, fulfillment.id)
    assert stored.status == "shipped"
    assert [(t["number"], t["problem"]) for t in stored.tracking] == [("TRK1", "returned")]
    assert await events(clean_db, fulfillment.id) == [
        ("webhook", "created", "shipped"),
        ("webhook", "shipped", "shipped"),
        ("webhook", "shipped", "shipped"),
    ]
    async with async_sessionmaker(clean_db)() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        queued = [
            (row.event_type, row.payload["data"]["tracking"][0].get("problem")) for row in rows
        ]
    assert queued == [
        ("shipped", None),
        ("tracking_exception", "exception"),
        ("returned", "returned"),
    ]


async def test_an_order_split_maps_its_parcels_to_the_fulfillment(
    app: FastAPI, client: httpx.AsyncClient, clean_db: AsyncEngine, fulfillment: Fulfillment
) -> None:
    """CJ's ORDERSPLIT sample shape (API_FACTS §3.6); a parcel's LOGISTIC then finds us."""
    await deliver(app, client, split_message(CJ_ORDER_ID, "SP1", "SP2"))
    message = json.loads(logistic_message(CJ_ORDER_ID, 5, "PARCEL2"))
    message["params"]["orderId"] = "SP2"
    await deliver(app, client, json.dumps(message).encode())
    stored = await reload(clean_db, fulfillment.id)
    assert (stored.status, stored.cj_order_id) == ("shipped", str(CJ_ORDER_ID))
    assert [t["number"] for t in stored.tracking] == ["PARCEL2"]
    async with async_sessionmaker(clean_db)() as session:
        parcels = await session.scalars(select(FulfillmentParcel).order_by(FulfillmentParcel.id))
        assert [(p.cj_order_id, p.cj_status, p.fulfillment_id) for p in parcels] == [
            ("SP1", "300", fulfillment.id),
            ("SP2", "300", fulfillment.id),
        ]
    assert [r.status for r in await inbox(clean_db)] == ["applied", "applied"]
