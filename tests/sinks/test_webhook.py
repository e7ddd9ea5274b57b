from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import respx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.db.models import Fulfillment
from app.services.notifications import OutboxDispatcher, OutboxWriter
from app.sinks.base import Delivery, DeliveryError, DeliveryOutcome
from app.sinks.notification import FulfillmentNotification, NotificationEvent
from app.sinks.webhook import WebhookSink
from tests.fixtures.notifications import outbox_rows, queue, stored_fulfillment
from tests.fixtures.receiver import Receiver

WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
WRITER = OutboxWriter({"webhook": WebhookSink.events})


async def deliver_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    secret: str,
    event: NotificationEvent = NotificationEvent.shipped,
) -> Fulfillment:
    fulfillment = await stored_fulfillment(sessionmaker)
    await queue(sessionmaker, fulfillment, event, writer=WRITER)
    dispatcher = OutboxDispatcher(
        sessionmaker, [WebhookSink(f"{receiver.url}/store/hooks?src=cj", SecretStr(secret))]
    )
    try:
        now = datetime.now(UTC)
        while (await dispatcher.deliver_due(now)).retried:
            now = (await outbox_rows(sessionmaker))[0].next_attempt_at
    finally:
        await dispatcher.aclose()
    return fulfillment


class TestSignedDelivery:
    async def test_a_standard_webhooks_receiver_verifies_a_whsec_signature(
        self, sessionmaker: async_sessionmaker[AsyncSession], receiver: Receiver
    ) -> None:
        fulfillment = await deliver_one(sessionmaker, receiver, WHSEC)

        [request] = receiver.requests
        assert request.path == "/store/hooks"
        assert request.headers["content-type"] == "application/json"
        verified = Webhook(WHSEC).verify(request.body, request.headers)
        notification = FulfillmentNotification.model_validate(verified)
        assert notification.type == "fulfillment.shipped"
        assert notification.data.id == fulfillment.id
        [row] = await outbox_rows(sessionmaker)
        assert verified == row.payload
        assert request.headers["webhook-id"] == row.payload["id"]
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 300

    async def test_a_plain_secret_is_the_key_itself(
        self, sessionmaker: async_sessionmaker[AsyncSession], receiver: Receiver
    ) -> None:
        await deliver_one(sessionmaker, receiver, "a-plain-shared-secret")
        [request] = receiver.requests
        Webhook(b"a-plain-shared-secret").verify(request.body, request.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(b"another-secret").verify(request.body, request.headers)

    async def test_a_tampered_body_fails_verification(
        self, sessionmaker: async_sessionmaker[AsyncSession], receiver: Receiver
    ) -> None:
        await deliver_one(sessionmaker, receiver, WHSEC)
        [request] = receiver.requests
        tampered = request.body.replace(b'"shipped"', b'"delivered"', 1)
        assert tampered != request.body
        with pytest.raises(WebhookVerificationError):
            Webhook(WHSEC).verify(tampered, request.headers)

    async def test_retries_carry_the_same_id_and_body_and_a_fresh_signature(
        self, sessionmaker: async_sessionmaker[AsyncSession], receiver: Receiver
    ) -> None:
        receiver.respond(502, times=2)
        await deliver_one(sessionmaker, receiver, WHSEC)

        assert len(receiver.requests) == 3
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
        assert len({r.body for r in receiver.requests}) == 1
        for request in receiver.requests:
            Webhook(WHSEC).verify(request.body, request.headers)
        assert [row.status for row in await outbox_rows(sessionmaker)] == ["delivered"]


def delivery() -> Delivery:
    return Delivery(
        7, NotificationEvent.cancelled, {"id": "evt_7", "type": "fulfillment.cancelled"}
    )


class TestAnswers:
    @pytest.fixture
    async def sink(self) -> AsyncIterator[WebhookSink]:
        sink = WebhookSink("https://store.example/hooks", SecretStr(WHSEC))
        yield sink
        await sink.aclose()

    @respx.mock
    async def test_any_2xx_is_delivered(self, sink: WebhookSink) -> None:
        respx.post("https://store.example/hooks").respond(204)
        assert await sink.deliver(delivery()) is DeliveryOutcome.delivered

    @pytest.mark.parametrize(("status", "auth"), [(400, False), (401, True), (410, False)])
    @respx.mock
    async def test_every_refusal_is_retried(
        self, sink: WebhookSink, status: int, auth: bool
    ) -> None:
        respx.post("https://store.example/hooks").respond(status, text="nope")
        with pytest.raises(DeliveryError) as raised:
            await sink.deliver(delivery())
        assert (raised.value.permanent, raised.value.auth) == (False, auth)
        assert f"HTTP {status}: nope" in raised.value.reason

    @respx.mock
    async def test_a_timeout_is_retried(self, sink: WebhookSink) -> None:
        respx.post("https://store.example/hooks").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(DeliveryError) as raised:
            await sink.deliver(delivery())
        assert not raised.value.permanent
        assert raised.value.reason.startswith("request timed out: ReadTimeout")

    @respx.mock
    async def test_the_body_is_the_stored_payload(self, sink: WebhookSink) -> None:
        route = respx.post("https://store.example/hooks").respond(200)
        await sink.deliver(delivery())
        assert json.loads(route.calls.last.request.content) == delivery().payload
