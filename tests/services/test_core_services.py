"""The core services built directly (tests/fixtures/services.py) against Postgres and a
real cjsim: the submitter, the rate service, the cancellation service and the tracking
read-back, each through its own entry point, without the HTTP API or the worker loops."""

from __future__ import annotations

import time

import httpx
import pytest

from app.db.models import Fulfillment
from app.services.errors import FulfillmentNotFound
from app.services.rates import RateQuery
from app.services.skus import ItemRef
from app.services.submission import SubmissionOutcome
from tests.fixtures.notifications import outbox_rows
from tests.fixtures.services import Core, pending_fulfillment, sim_vid


async def sim_calls(sim: httpx.AsyncClient, endpoint: str) -> int:
    return int((await sim.get("/_sim/stats")).json()["calls"].get(endpoint, 0))


async def place(core: Core, fulfillment_id: str) -> SubmissionOutcome:
    assert await core.submitter.claim(fulfillment_id) is False  # no attempt reached CJ yet
    result = await core.submitter.submit_claimed(
        fulfillment_id, maybe_at_cj=False, deadline=time.monotonic() + 10, source="worker"
    )
    return result.outcome


async def outbox_events(core: Core) -> list[str]:
    return [message.event_type for message in await outbox_rows(core.sessionmaker)]


class TestSubmitter:
    async def test_places_a_claimed_fulfillment_once_and_queues_the_notification(
        self, core: Core, sim: httpx.AsyncClient
    ) -> None:
        await pending_fulfillment(core.sessionmaker, "ful_core_submit")
        assert await place(core, "ful_core_submit") is SubmissionOutcome.created
        assert await core.submitter.claim("ful_core_submit") is None  # not pending any more
        orders = (await sim.get("/_sim/orders")).json()["orders"]
        assert [order["orderNumber"] for order in orders] == ["ful_core_submit"]
        assert await outbox_events(core) == ["cj_order_created"]

    async def test_a_refusal_for_good_fails_the_fulfillment_and_says_so(
        self, core: Core, sim: httpx.AsyncClient
    ) -> None:
        await sim.post(
            "/_sim/faults",
            json={"endpoint": "createOrderV2", "kind": "code", "code": 1603000, "count": 1},
        )
        await pending_fulfillment(core.sessionmaker, "ful_core_refused")
        assert await place(core, "ful_core_refused") is SubmissionOutcome.failed
        assert await outbox_events(core) == ["failed"]


class TestRateService:
    async def test_prices_from_cj_once_then_from_the_cache(
        self, core: Core, sim: httpx.AsyncClient
    ) -> None:
        query = RateQuery(
            option_id="us-standard",
            country_code="US",
            zip="10001",
            items=[ItemRef(sku=None, vid=sim_vid("CJ-TSHIRT-RED-M"), quantity=2)],
            currency="USD",
        )
        [live] = await core.rates.quote(query)
        [cached] = await core.rates.quote(query)
        assert (live.source, cached.source) == ("live", "cache")
        assert live.amount == cached.amount > 0
        assert await sim_calls(sim, "freightCalculate") == 1


class TestCancellationService:
    async def test_a_fulfillment_cj_never_had_is_cancelled_without_asking_cj(
        self, core: Core, sim: httpx.AsyncClient
    ) -> None:
        await pending_fulfillment(core.sessionmaker, "ful_core_cancel")
        result = await core.cancellations.cancel("ful_core_cancel")
        assert result.fulfillment.status == "cancelled"
        assert not result.dispute_requested
        assert await sim_calls(sim, "deleteOrder") == 0
        assert await outbox_events(core) == ["cancelled"]

    async def test_an_unknown_fulfillment_is_not_found(self, core: Core) -> None:
        with pytest.raises(FulfillmentNotFound):
            await core.cancellations.cancel("ful_nobody")


class TestTrackingReadback:
    async def test_the_poller_reads_a_quiet_order_back_and_moves_it_forward(
        self, core: Core, sim: httpx.AsyncClient
    ) -> None:
        await pending_fulfillment(core.sessionmaker, "ful_core_poll")
        assert await place(core, "ful_core_poll") is SubmissionOutcome.created
        [order] = (await sim.get("/_sim/orders")).json()["orders"]
        moved = await sim.post(
            f"/_sim/orders/{order['orderId']}/advance", json={"status": "SHIPPED"}
        )
        assert moved.status_code == 200, moved.text
        assert await core.readback.poll_due() == 1
        async with core.sessionmaker() as session:
            stored = await session.get(Fulfillment, "ful_core_poll")
        assert stored is not None
        assert stored.status == "shipped"
        assert await outbox_events(core) == ["cj_order_created", "shipped"]
