"""Helpers shared by the simulator tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

from cjsim import catalog

API = "/api2.0/v1"
API_KEY = "CJ1234567@api@0123456789abcdef"
US_TEE = catalog.variant_by_sku("CJ-TSHIRT-RED-M")
US_BLANKET = catalog.variant_by_sku("CJ-BLANKET-QUEEN")
CN_CASE = catalog.variant_by_sku("CJ-PHONECASE-IPHONE15-BLACK")
assert US_TEE is not None
assert US_BLANKET is not None
assert CN_CASE is not None


class FakeClock:
    """Frozen wall clock the tests move by hand (QPS window, 5-minute rule, token expiry)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CJ:
    """A logged-in CJ API client against the in-process simulator."""

    def __init__(self, client: httpx.AsyncClient, login: dict[str, Any]) -> None:
        self.client = client
        self.login = login
        self.token: str = login["accessToken"]
        self.open_id: int = login["openId"]

    @property
    def headers(self) -> dict[str, str]:
        return {"CJ-Access-Token": self.token}

    async def post(self, path: str, body: Any) -> Any:
        response = await self.client.post(f"{API}{path}", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def patch(self, path: str, body: Any) -> Any:
        response = await self.client.patch(f"{API}{path}", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def get(self, path: str, params: Any = None) -> Any:
        response = await self.client.get(f"{API}{path}", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def create(self, version: int = 2, **overrides: Any) -> Any:
        return await self.post(f"/shopping/order/createOrderV{version}", order_body(**overrides))

    async def create_ok(self, version: int = 2, **overrides: Any) -> dict[str, Any]:
        body = await self.create(version, **overrides)
        assert body["code"] == 200, body
        data: dict[str, Any] = body["data"]
        return data

    async def detail(self, order_id: str) -> Any:
        return await self.get("/shopping/order/getOrderDetail", {"orderId": order_id})


def order_body(**overrides: Any) -> dict[str, Any]:
    assert US_TEE is not None
    body: dict[str, Any] = {
        "orderNumber": "ful_0001",
        "shippingCountryCode": "US",
        "shippingCountry": "United States",
        "shippingProvince": "New York",
        "shippingCity": "New York",
        "shippingCustomerName": "Ada Lovelace",
        "shippingAddress": "1 Main St",
        "shippingZip": "10001",
        "shippingPhone": "2125550100",
        "logisticName": "USPS+",
        "fromCountryCode": "US",
        "products": [{"vid": US_TEE.vid, "quantity": 2, "storeLineItemId": "li_1"}],
    }
    body.update(overrides)
    return body


async def login(client: httpx.AsyncClient, api_key: str = API_KEY) -> dict[str, Any]:
    response = await client.post(f"{API}/authentication/getAccessToken", json={"apiKey": api_key})
    body = response.json()
    assert body["code"] == 200, body
    data: dict[str, Any] = body["data"]
    return data
