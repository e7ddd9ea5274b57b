from __future__ import annotations

import httpx


class TestListOptions:
    async def test_lists_the_configured_options(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.get("/v1/fulfillment-options", headers=auth)
        assert response.status_code == 200
        first = response.json()["options"][0]
        assert first == {
            "id": "us-standard",
            "name": "US Standard",
            "from_country": "US",
            "destinations": ["US"],
            "eta_days": {"min": 5, "max": 7},
            "calculated": True,
        }


class TestValidateOption:
    async def test_known_option_is_valid(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/fulfillment-options/validate",
            json={"option_id": "ca-standard", "data": {}},
            headers=auth,
        )
        assert response.status_code == 200
        assert response.json()["valid"] is True
        assert response.json()["option"]["id"] == "ca-standard"

    async def test_unknown_option_is_422(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/fulfillment-options/validate", json={"option_id": "teleport"}, headers=auth
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert "teleport" in response.json()["detail"]
        assert response.json()["type"].endswith("/unknown-option")  # the same as /v1/rates
