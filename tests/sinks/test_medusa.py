from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.metrics import REGISTRY
from app.services.notifications import OutboxDispatcher, OutboxWriter
from app.sinks.base import Delivery, DeliveryError, DeliveryOutcome
from app.sinks.medusa import MedusaAdminSink
from app.sinks.notification import NotificationEvent
from tests.fixtures.notifications import (
    FIRST_LABEL,
    SECOND_LABEL,
    DispatcherOf,
    outbox_rows,
    queue,
    stored_fulfillment,
)
from tests.fixtures.receiver import Receiver

KEY = SecretStr("sk_3f0c9a7e51d24b8c")
WRITER = OutboxWriter({"medusa": MedusaAdminSink.events})


@pytest.fixture
def dispatcher(dispatcher_of: DispatcherOf, receiver: Receiver) -> OutboxDispatcher:
    return dispatcher_of(MedusaAdminSink(receiver.url, KEY))


notify = functools.partial(queue, writer=WRITER)


def sample(outcome: str) -> float:
    labels = {"sink": "medusa", "outcome": outcome}
    return REGISTRY.get_sample_value("outbox_deliveries_total", labels) or 0.0


class TestAgainstAMedusaServer:
    async def test_shipped_then_delivered_with_items_labels_and_basic_auth(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(
            sessionmaker, fulfillment, NotificationEvent.shipped, NotificationEvent.delivered
        )

        assert (await dispatcher.deliver_due()).delivered == 1
        assert (await dispatcher.deliver_due()).delivered == 1

        base = f"/admin/orders/{fulfillment.order_id}/fulfillments/{fulfillment.external_id}"
        assert receiver.paths() == [f"{base}/shipments", f"{base}/mark-as-delivered"]
        shipment, delivered = receiver.requests
        n = fulfillment.id[3:]
        assert json.loads(shipment.body) == {
            "items": [
                {"id": f"ordli_{n}_a", "quantity": 2},
                {"id": f"ordli_{n}_b", "quantity": 1},
            ],
            "labels": [
                {
                    "tracking_number": FIRST_LABEL["number"],
                    "tracking_url": FIRST_LABEL["url"],
                    "label_url": "#",
                },
                {"tracking_number": SECOND_LABEL["number"], "tracking_url": "#", "label_url": "#"},
            ],
        }
        assert json.loads(delivered.body) == {}
        for request in receiver.requests:
            assert request.method == "POST"
            assert request.headers["authorization"] == f"Basic {KEY.get_secret_value()}"
            assert request.headers["content-type"] == "application/json"
        assert {row.status for row in await outbox_rows(sessionmaker)} == {"delivered"}

    async def test_already_shipped_and_already_delivered_count_as_done(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(
            sessionmaker, fulfillment, NotificationEvent.shipped, NotificationEvent.delivered
        )
        receiver.respond(
            400,
            {
                "type": "not_allowed",
                "message": "Shipment has already been created",
            },
        )
        receiver.respond(
            400,
            {
                "type": "not_allowed",
                "message": "Fulfillment has already been marked delivered",
            },
        )
        before = sample("already_done")

        assert (await dispatcher.deliver_due()).delivered == 1
        assert (await dispatcher.deliver_due()).delivered == 1

        rows = await outbox_rows(sessionmaker)
        assert [(r.status, r.attempts) for r in rows] == [("delivered", 1), ("delivered", 1)]
        assert sample("already_done") == before + 2

    async def test_an_unknown_order_is_a_dead_letter_at_once(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
        receiver.respond(404, {"type": "not_found", "message": "Order id not found"})

        assert (await dispatcher.deliver_due()).dead == 1
        [row] = await outbox_rows(sessionmaker)
        assert (row.status, row.last_error) == ("dead", "HTTP 404: Order id not found")

    async def test_a_refused_key_is_retried_and_reported(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await notify(sessionmaker, fulfillment, NotificationEvent.shipped)
        receiver.respond(401, {"message": "Unauthorized"})
        before = sample("auth_error")

        now = datetime.now(UTC)
        assert (await dispatcher.deliver_due(now)).retried == 1
        [row] = await outbox_rows(sessionmaker)
        assert row.status == "pending"
        assert row.next_attempt_at > now
        assert row.last_error == "Medusa refused MEDUSA_SECRET_KEY: HTTP 401: Unauthorized"
        assert sample("auth_error") == before + 1
        assert KEY.get_secret_value() not in (row.last_error or "")

        assert (await dispatcher.deliver_due(row.next_attempt_at)).delivered == 1


def delivery(event: NotificationEvent, **data: Any) -> Delivery:
    snapshot = {
        "id": "ff_1",
        "external_id": "ful_01H",
        "order_id": "order_01H",
        "option_id": "us-standard",
        "status": "shipped",
        "status_reason": None,
        "cj_order_id": "2751300401673846784",
        "cj_order_number": "CJF-ff_1",
        "cj_status": "SHIPPED",
        "logistic_name": "YunExpress",
        "items": [{"line_item_id": "ordli_1", "sku": "TEE", "quantity": 3}],
        "tracking": [{"number": "YT1", "carrier": None, "url": None}],
        "created_at": "2026-11-20T08:00:00Z",
        "updated_at": "2026-11-21T08:00:00Z",
    }
    snapshot.update(data)
    payload = {
        "id": "evt_1",
        "type": event.webhook_type,
        "timestamp": "2026-11-21T08:00:00Z",
        "data": snapshot,
    }
    return Delivery(1, event, payload)


BASE = "https://shop.example/admin/orders/order_01H/fulfillments/ful_01H"
ORDER = "https://shop.example/admin/orders/order_01H"


@pytest.fixture
async def sink() -> AsyncIterator[MedusaAdminSink]:
    sink = MedusaAdminSink("https://shop.example/", KEY)
    yield sink
    await sink.aclose()


class TestAnswers:
    @pytest.mark.parametrize(
        ("status", "message", "permanent", "auth"),
        [
            (400, "Cannot create shipment for a canceled fulfillment", True, False),
            (401, "Unauthorized", False, True),
            (403, "Forbidden", False, True),
            (404, "Fulfillment with id: ful_01H was not found", True, False),
            (409, "The request conflicted with another request.", False, False),
            (422, "Invalid request", True, False),
            (429, "Too many requests", False, False),
            (500, "An unknown error occurred.", False, False),
            (503, "", False, False),
        ],
    )
    @respx.mock
    async def test_failures_say_whether_to_retry(
        self, sink: MedusaAdminSink, status: int, message: str, permanent: bool, auth: bool
    ) -> None:
        respx.get(ORDER).respond(
            200, json={"order": {"id": "order_01H", "fulfillments": [{"id": "ful_01H"}]}}
        )
        respx.post(f"{BASE}/shipments").respond(status, json={"message": message})
        with pytest.raises(DeliveryError) as raised:
            await sink.deliver(delivery(NotificationEvent.shipped))
        assert (raised.value.permanent, raised.value.auth) == (permanent, auth)
        assert f"HTTP {status}" in raised.value.reason

    @pytest.mark.parametrize(
        ("order_answer", "gone"),
        [
            (
                (200, {"order": {"id": "order_01H", "fulfillments": [{"id": "ful_other"}]}}),
                "Medusa's order order_01H has no fulfillment ful_01H",
            ),
            ((404, {"message": "Order id not found"}), "Medusa has no order order_01H"),
        ],
    )
    @respx.mock
    async def test_a_fulfillment_medusa_no_longer_has_is_given_up_with_its_answer(
        self, sink: MedusaAdminSink, order_answer: tuple[int, dict[str, Any]], gone: str
    ) -> None:
        # Medusa's shipment workflow throws a plain Error for a fulfillment not on the
        # order, which its error handler answers as a 500.
        respx.post(f"{BASE}/shipments").respond(500, json={"message": "An unknown error occurred."})
        lookup = respx.get(ORDER).respond(order_answer[0], json=order_answer[1])
        with pytest.raises(DeliveryError) as raised:
            await sink.deliver(delivery(NotificationEvent.shipped))
        assert raised.value.permanent
        assert (
            raised.value.reason == f"{gone}; Medusa answered HTTP 500: An unknown error occurred."
        )
        assert lookup.calls.last.request.url.params["fields"] == "id,fulfillments.id"
        assert (
            lookup.calls.last.request.headers["authorization"] == f"Basic {KEY.get_secret_value()}"
        )

    @pytest.mark.parametrize("lookup_status", [500, 401])
    @respx.mock
    async def test_a_5xx_stays_retried_when_medusa_cannot_say(
        self, sink: MedusaAdminSink, lookup_status: int
    ) -> None:
        respx.post(f"{BASE}/mark-as-delivered").respond(502, text="Bad Gateway")
        respx.get(ORDER).respond(lookup_status, json={})
        with pytest.raises(DeliveryError) as raised:
            await sink.deliver(delivery(NotificationEvent.delivered))
        assert not raised.value.permanent

    @pytest.mark.parametrize(
        "url",
        [
            "https://",
            "https:// ",
            "https://track example/1",
            "http://\x00host/",
            "https://t.example/a\nb",
            "httpsx://t.example/1",
            "javascript:alert(1)",
        ],
    )
    @respx.mock
    async def test_a_label_url_medusa_would_refuse_is_sent_as_none(
        self, sink: MedusaAdminSink, url: str
    ) -> None:
        route = respx.post(f"{BASE}/shipments").respond(200, json={"order": {}})
        tracking = [{"number": "YT1", "carrier": "USPS", "url": url}]
        await sink.deliver(delivery(NotificationEvent.shipped, tracking=tracking))
        [label] = json.loads(route.calls.last.request.content)["labels"]
        assert label["tracking_url"] == "#"

    @respx.mock
    async def test_a_network_failure_is_retried(self, sink: MedusaAdminSink) -> None:
        respx.post(f"{BASE}/mark-as-delivered").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(DeliveryError) as raised:
            await sink.deliver(delivery(NotificationEvent.delivered))
        assert not raised.value.permanent
        assert raised.value.reason.startswith("request failed: ConnectError")

    @respx.mock
    async def test_a_shipment_without_tracking_sends_no_labels(self, sink: MedusaAdminSink) -> None:
        route = respx.post(f"{BASE}/shipments").respond(200, json={"order": {}})
        outcome = await sink.deliver(delivery(NotificationEvent.shipped, tracking=[]))
        assert outcome is DeliveryOutcome.delivered
        assert json.loads(route.calls.last.request.content) == {
            "items": [{"id": "ordli_1", "quantity": 3}]
        }

    @respx.mock
    async def test_a_tracking_update_without_tracking_sends_nothing(
        self, sink: MedusaAdminSink
    ) -> None:
        outcome = await sink.deliver(delivery(NotificationEvent.tracking_updated, tracking=[]))
        assert outcome is DeliveryOutcome.skipped
        assert respx.calls.call_count == 0

    @respx.mock
    async def test_ids_are_escaped_in_the_path(self, sink: MedusaAdminSink) -> None:
        route = respx.post(
            "https://shop.example/admin/orders/order%2F1/fulfillments/ful%3F2/mark-as-delivered"
        ).respond(200, json={})
        await sink.deliver(
            delivery(NotificationEvent.delivered, order_id="order/1", external_id="ful?2")
        )
        assert route.called


class TestEndedFulfillments:
    """`failed` and `cancelled` cancel the Medusa fulfillment (Medusa's cancel workflow,
    core-flows cancel-order-fulfillment), unless the change came through our API."""

    @pytest.mark.parametrize(
        ("event", "source"),
        [
            (NotificationEvent.failed, "worker"),
            (NotificationEvent.cancelled, "cj_dispute"),
            (NotificationEvent.cancelled, "webhook"),
        ],
    )
    @respx.mock
    async def test_an_end_cj_reached_cancels_the_medusa_fulfillment(
        self, sink: MedusaAdminSink, event: NotificationEvent, source: str
    ) -> None:
        cancel = respx.post(f"{BASE}/cancel").respond(200, json={"order": {"id": "order_01H"}})
        ended = delivery(event, status=event.value, change_source=source)
        assert await sink.deliver(ended) is DeliveryOutcome.delivered
        assert json.loads(cancel.calls.last.request.content) == {}
        assert cancel.calls.last.request.headers["authorization"] == (
            f"Basic {KEY.get_secret_value()}"
        )

    @pytest.mark.parametrize("event", [NotificationEvent.failed, NotificationEvent.cancelled])
    @respx.mock
    async def test_a_change_made_through_our_api_is_not_sent_back(
        self, sink: MedusaAdminSink, event: NotificationEvent
    ) -> None:
        cancel = respx.post(f"{BASE}/cancel").respond(200, json={})
        ended = delivery(event, status=event.value, change_source="api")
        assert await sink.deliver(ended) is DeliveryOutcome.skipped
        assert not cancel.called

    @pytest.mark.parametrize(
        ("message", "outcome"),
        [
            ("The fulfillment is already canceled", DeliveryOutcome.already_done),
            ("Fulfillment with id ful_01H not found in the order", DeliveryOutcome.skipped),
        ],
    )
    @respx.mock
    async def test_medusas_already_canceled_and_no_such_fulfillment_end_it(
        self, sink: MedusaAdminSink, message: str, outcome: DeliveryOutcome
    ) -> None:
        respx.post(f"{BASE}/cancel").respond(400, json={"type": "not_allowed", "message": message})
        ended = delivery(NotificationEvent.failed, status="failed", change_source="worker")
        assert await sink.deliver(ended) is outcome

    @respx.mock
    async def test_a_shipped_medusa_fulfillment_is_refused_for_good(
        self, sink: MedusaAdminSink
    ) -> None:
        respx.post(f"{BASE}/cancel").respond(
            400,
            json={
                "type": "not_allowed",
                "message": "The fulfillment has already been shipped. Shipped fulfillments "
                "cannot be canceled",
            },
        )
        ended = delivery(NotificationEvent.cancelled, status="cancelled", change_source="webhook")
        with pytest.raises(DeliveryError) as raised:
            await sink.deliver(ended)
        assert raised.value.permanent
