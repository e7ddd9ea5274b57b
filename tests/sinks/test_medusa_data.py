"""The Medusa data sink: every change reaches the plugin's `cj-data` route."""

from __future__ import annotations

import functools
import json

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Fulfillment
from app.services.notifications import OutboxDispatcher, OutboxWriter
from app.sinks.medusa import MedusaDataSink
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

KEY = SecretStr("sk_9d41c0b7e2a84f16")
WRITER = OutboxWriter({"medusa_data": MedusaDataSink.events})


@pytest.fixture
def dispatcher(dispatcher_of: DispatcherOf, receiver: Receiver) -> OutboxDispatcher:
    return dispatcher_of(MedusaDataSink(receiver.url, KEY))


change = functools.partial(queue, writer=WRITER)


def path_of(fulfillment: Fulfillment) -> str:
    return f"/admin/cj-fulfillment/fulfillments/{fulfillment.external_id}/cj-data"


class TestAgainstAMedusaServer:
    async def test_each_change_is_posted_in_order_with_the_cj_side_and_basic_auth(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(
            sessionmaker, status="pending", cj_order_id=None, cj_status=None, tracking=[]
        )
        await change(
            sessionmaker,
            fulfillment,
            NotificationEvent.cj_order_created,
            status="created",
            cj_order_id="2751300401673846784",
            cj_status="CREATED",
        )
        await change(
            sessionmaker,
            fulfillment,
            NotificationEvent.shipped,
            status="shipped",
            cj_status="SHIPPED",
            tracking=[FIRST_LABEL, SECOND_LABEL],
        )

        assert (await dispatcher.deliver_due()).delivered == 1  # one per fulfillment per pass
        assert (await dispatcher.deliver_due()).delivered == 1

        assert receiver.paths() == [path_of(fulfillment)] * 2
        created, shipped = (json.loads(r.body) for r in receiver.requests)
        assert created == {
            "id": fulfillment.id,
            "status": "created",
            "status_reason": None,
            "cj_order_id": "2751300401673846784",
            "cj_order_number": fulfillment.cj_order_number,
            "cj_status": "CREATED",
            "logistic_name": "YunExpress",
            "tracking": [],
            "updated_at": created["updated_at"],
        }
        assert shipped["status"] == "shipped"
        unset = {"last_mile_number": None, "problem": None}  # not known for these numbers
        assert shipped["tracking"] == [FIRST_LABEL | unset, SECOND_LABEL | unset]
        assert shipped["updated_at"] >= created["updated_at"]
        for request in receiver.requests:
            assert request.headers["authorization"] == f"Basic {KEY.get_secret_value()}"
        assert {row.status for row in await outbox_rows(sessionmaker)} == {"delivered"}

    @pytest.mark.parametrize(
        ("event", "status", "reason"),
        [
            (NotificationEvent.failed, "failed", "Balance insufficient (CJ code 1603001)"),
            (NotificationEvent.cancelled, "cancelled", "cancelled by the merchant"),
        ],
    )
    async def test_failed_and_cancelled_reach_medusa_with_the_reason(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
        event: NotificationEvent,
        status: str,
        reason: str,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker, status="pending", tracking=[])
        await change(sessionmaker, fulfillment, event, status=status, status_reason=reason)

        assert (await dispatcher.deliver_due()).delivered == 1
        [request] = receiver.requests
        body = json.loads(request.body)
        assert (body["status"], body["status_reason"]) == (status, reason)

    async def test_a_fulfillment_medusa_does_not_have_is_a_dead_letter_at_once(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await change(sessionmaker, fulfillment, NotificationEvent.delivered, status="delivered")
        receiver.respond(
            404,
            {
                "type": "not_found",
                "message": f"Fulfillment with id: {fulfillment.external_id} was not found",
            },
        )

        assert (await dispatcher.deliver_due()).dead == 1
        [row] = await outbox_rows(sessionmaker)
        assert row.last_error == (
            f"HTTP 404: Fulfillment with id: {fulfillment.external_id} was not found"
        )

    async def test_a_store_without_the_plugin_says_so_in_the_dead_letter(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await change(sessionmaker, fulfillment, NotificationEvent.delivered, status="delivered")
        receiver.respond(404, f"Cannot POST {path_of(fulfillment)}")

        assert (await dispatcher.deliver_due()).dead == 1
        [row] = await outbox_rows(sessionmaker)
        assert "add the medusa-fulfillment-cj plugin" in (row.last_error or "")
        assert "MEDUSA_FULFILLMENT_DATA=false" in (row.last_error or "")

    @pytest.mark.parametrize(("status", "outcome"), [(409, "retry"), (503, "retry"), (400, "dead")])
    async def test_medusa_refusals(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: OutboxDispatcher,
        receiver: Receiver,
        status: int,
        outcome: str,
    ) -> None:
        fulfillment = await stored_fulfillment(sessionmaker)
        await change(sessionmaker, fulfillment, NotificationEvent.delivered, status="delivered")
        receiver.respond(status, {"type": "not_allowed", "message": "no"})

        report = await dispatcher.deliver_due()
        assert (report.retried, report.dead) == ((1, 0) if outcome == "retry" else (0, 1))
