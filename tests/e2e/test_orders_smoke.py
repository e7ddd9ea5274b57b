"""The real CJ client (composed as the service composes it) against a real cjsim server:
create an order, read it back by orderNumber, delete it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.cj.errors import CJOrderExists
from app.cj.models import CreateOrderRequest, OrderProduct
from app.container import Container
from app.core.config import Settings
from cjsim import catalog
from tests.e2e.support import TOKEN_ENCRYPTION_KEY
from tests.fixtures.app import make_settings

T_SHIRT = catalog.variant_by_sku("CJ-TSHIRT-RED-M")


@pytest.fixture
async def container(service_env: dict[str, str]) -> AsyncIterator[Container]:
    settings: Settings = make_settings(
        database_url=service_env["DATABASE_URL"],
        redis_url=service_env["REDIS_URL"],
        token_encryption_key=TOKEN_ENCRYPTION_KEY,
        cj_api_base_url=service_env["CJ_API_BASE_URL"],
        cj_api_key=service_env["CJ_API_KEY"],
        cj_qps=5,
    )
    built = Container.build(settings, process="e2e-smoke")
    built.start()
    try:
        yield built
    finally:
        await built.close()


def order_request(order_number: str) -> CreateOrderRequest:
    assert T_SHIRT is not None
    return CreateOrderRequest(
        order_number=order_number,
        shipping_country_code="US",
        shipping_country="United States",
        shipping_province="New York",
        shipping_city="New York",
        shipping_customer_name="Ada Lovelace",
        shipping_address="1 Main St",
        shipping_zip="10001",
        shipping_phone="2125550100",
        logistic_name="USPS+",
        from_country_code="US",
        products=[OrderProduct(vid=T_SHIRT.vid, quantity=2, store_line_item_id="li_1")],
    )


async def test_create_detail_delete(sim: httpx.AsyncClient, container: Container) -> None:
    assert (await sim.post("/_sim/config", json={"qps": 5})).json()["qps"] == 5
    cj = container.cj
    order_number = f"e2e_{uuid.uuid4().hex[:12]}"

    created = await cj.create_order_v2(order_request(order_number))
    assert created.order_number == order_number
    assert created.order_status == "CREATED"
    assert created.order_id.isdigit()
    assert int(created.order_id) > 2**53  # kept exact, as text

    detail = await cj.get_order_detail(order_number)
    assert detail.cj_id == created.order_id
    assert detail.order_number == order_number
    assert detail.order_status == "CREATED"

    assert await cj.delete_order(created.order_id) == created.order_id
    after = await cj.get_order_detail(order_number)
    assert after.order_status == "CANCELLED"

    # orderNumber stays taken at CJ: creating it again is refused, and nothing is stored.
    with pytest.raises(CJOrderExists):
        await cj.create_order_v2(order_request(order_number))

    stats = (await sim.get("/_sim/stats")).json()
    assert stats["orders_by_number"] == {order_number: 1}
    assert stats["calls"]["getAccessToken"] == 1
    assert stats["calls"]["createOrderV2"] == 2
    assert stats["calls"]["getOrderDetail"] == 2
    assert stats["calls"]["deleteOrder"] == 1
    assert stats["qps_violations"] == 0
