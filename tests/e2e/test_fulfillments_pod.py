"""Print on demand: an item's `pod_properties` (CJ's podProperties, seed 004 §1.1) are
checked and reach CJ's createOrder body as its JSON text."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.fulfillments import body, key, vid

LOGO = "https://cc-west-usa.oss-us-west-1.aliyuncs.com/9f0b99e6_LOGO_NavyBlue.png"
POD_2 = [{"areaName": "LogoArea", "links": [LOGO], "type": "1"}]
POD_3 = [{"links": [LOGO, LOGO.replace("LOGO", "BACK")], "effectImgs": [LOGO + "?mockup"]}]


def pod_item(line: str, pod: Any) -> dict[str, Any]:
    return {"line_item_id": line, "vid": vid("CJ-TSHIRT-RED-M"), "quantity": 1,
            "pod_properties": pod}  # fmt: skip


class TestPodProperties:
    async def test_pod_2_and_3_lines_reach_cjs_create_order_body(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient
    ) -> None:
        plain = {"line_item_id": "li_plain", "vid": vid("CJ-MUG-WHITE-11OZ"), "quantity": 1}
        request = body(items=[pod_item("li_pod2", POD_2), pod_item("li_pod3", POD_3), plain])
        response = await client.post("/v1/fulfillments", json=request, headers=key())
        assert response.status_code == 201, response.text
        [order] = (await sim.get("/_sim/orders")).json()["orders"]
        sent = order["podProperties"]
        assert set(sent) == {"li_pod2", "li_pod3"}  # the plain line carries none
        assert json.loads(sent["li_pod2"]) == POD_2
        assert json.loads(sent["li_pod3"]) == POD_3
        assert sent["li_pod2"] == json.dumps(POD_2, separators=(",", ":"))  # compact, as CJ shows

    async def test_the_same_key_and_body_replays_and_another_pod_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        request = body(items=[pod_item("li_1", POD_2)])
        headers = key()
        first = await client.post("/v1/fulfillments", json=request, headers=headers)
        again = await client.post("/v1/fulfillments", json=request, headers=headers)
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json() == first.json()
        other = body(external_id=request["external_id"], items=[pod_item("li_1", POD_3)])
        other["order_id"] = request["order_id"]
        changed = await client.post("/v1/fulfillments", json=other, headers=headers)
        assert changed.status_code == 422

    @pytest.mark.parametrize(
        ("pod", "message"),
        [
            ([{"links": [LOGO]}], "needs `areaName` (POD 2.0) or `effectImgs` (POD 3.0)"),
            ([{"areaName": "LogoArea", "links": []}], "at least 1 item"),
            ([{"areaName": "LogoArea", "links": ["ftp://x/logo.png"]}], "pattern"),
            ([{"links": [LOGO], "effectImgs": [LOGO, LOGO]}], "at most 1 item"),
            ([{"areaName": "LogoArea", "links": [LOGO], "colour": "red"}], "Extra inputs"),
            ([{"areaName": "LogoArea", "links": [LOGO] * 7}], "at most 500 characters"),
            ([], "at least 1 item"),
        ],
    )
    async def test_a_bad_entry_is_422_naming_the_field_and_nothing_reaches_cj(
        self, client: httpx.AsyncClient, sim: httpx.AsyncClient, pod: Any, message: str
    ) -> None:
        response = await client.post(
            "/v1/fulfillments", json=body(items=[pod_item("li_1", pod)]), headers=key()
        )
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert any(e["field"].startswith("body.items.0.pod_properties") for e in errors), errors
        assert any(message in e["message"] for e in errors), errors
        assert (await sim.get("/_sim/stats")).json()["orders"] == 0
