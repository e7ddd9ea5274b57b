"""CJ payload translation (app/cj/translate.py), on CJ's own sample payloads (seed 004,
kept in tests/fixtures/cj_samples)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cj.envelope import unwrap
from app.cj.errors import (
    CJAmbiguous,
    CJParameterError,
    CJTimeout,
    CJTransportError,
    CJUpstreamError,
    error_for_code,
    may_have_reached_cj,
)
from app.cj.translate import (
    CREATE_ORDER_LIMITS,
    create_order_body,
    create_order_request,
    placed_from_created,
    placed_from_detail,
    pod_properties_text,
    read_created_order,
    read_order_detail,
    read_quotes,
    too_long,
)

SAMPLES = Path(__file__).parent.parent / "fixtures" / "cj_samples"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def data_of(name: str) -> Any:
    """The `data` of a sample answer, through the same envelope reading the client uses."""
    data, _request_id = unwrap(httpx.Response(200, json=sample(name)))
    return data


@dataclass
class Line:
    vid: str
    quantity: int
    line_item_id: str
    pod_properties: list[dict[str, Any]] | None = None


@dataclass
class Source:
    cj_order_number: str
    shipping_address: dict[str, Any]
    from_country: str
    items: list[Line] = field(default_factory=list)


def source_like_the_sample(**address: Any) -> Source:
    """A fulfillment carrying the values of CJ's createOrderV2 sample request."""
    request = sample("create_order_v2_request.json")
    product = request["products"][0]
    return Source(
        cj_order_number=request["orderNumber"],
        shipping_address={
            "name": request["shippingCustomerName"],
            "phone": request["shippingPhone"],
            "address1": request["shippingAddress"],
            "address2": request["shippingAddress2"],
            "city": request["shippingCity"],
            "province": request["shippingProvince"],
            "country_code": request["shippingCountryCode"],
            "country": request["shippingCountry"],
            "zip": request["shippingZip"],
            **address,
        },
        from_country=request["fromCountryCode"],
        items=[Line(product["vid"], product["quantity"], product["storeLineItemId"])],
    )


class TestCreateOrderBody:
    def test_matches_cjs_sample_request_field_for_field(self) -> None:
        expected = sample("create_order_v2_request.json")
        body = create_order_body(
            create_order_request(
                source_like_the_sample(), expected["logisticName"], pay_type=3, sandbox=False
            )
        )
        # Every field we send is a field of CJ's sample, with the sample's value...
        for name, value in body.items():
            assert name in expected, name
            if name != "payType":  # the sample leaves it empty
                assert value == expected[name], name
        assert body["payType"] == 3
        # ...and every required field of the table is sent.
        for required in (
            "orderNumber",
            "shippingCountryCode",
            "shippingCountry",
            "shippingProvince",
            "shippingCity",
            "shippingCustomerName",
            "shippingAddress",
            "logisticName",
            "fromCountryCode",
            "products",
        ):
            assert required in body, required
        assert "isSandbox" not in body

    def test_sandbox_and_the_city_standing_in_for_a_missing_province(self) -> None:
        body = create_order_body(
            create_order_request(
                source_like_the_sample(province=""), "PostNL", pay_type=2, sandbox=True
            )
        )
        assert body["isSandbox"] == 1
        assert body["shippingProvince"] == body["shippingCity"]

    def test_the_sample_request_is_within_cjs_limits(self) -> None:
        request = create_order_request(
            source_like_the_sample(), "PostNL", pay_type=3, sandbox=False
        )
        assert too_long(request) == []

    @pytest.mark.parametrize(
        ("address", "cj_field", "source_field", "limit"),
        [
            ({"name": "x" * 51}, "shippingCustomerName", "shipping_address.name", 50),
            ({"city": "x" * 51}, "shippingCity", "shipping_address.city", 50),
            ({"province": "x" * 51}, "shippingProvince", "shipping_address.province", 50),
            ({"country": "x" * 51}, "shippingCountry", "shipping_address.country_code", 50),
            ({"phone": "1" * 21}, "shippingPhone", "shipping_address.phone", 20),
            ({"zip": "1" * 21}, "shippingZip", "shipping_address.zip", 20),
            ({"address1": "x" * 201}, "shippingAddress", "shipping_address.address1", 200),
            ({"address2": "x" * 201}, "shippingAddress2", "shipping_address.address2", 200),
            ({"email": "a" * 45 + "@b.com"}, "email", "shipping_address.email", 50),
        ],
    )
    def test_each_documented_limit_is_checked_and_named(
        self, address: dict[str, Any], cj_field: str, source_field: str, limit: int
    ) -> None:
        request = create_order_request(
            source_like_the_sample(**address), "PostNL", pay_type=3, sandbox=False
        )
        [problem] = too_long(request)
        assert (problem.cj_field, problem.source_field, problem.limit) == (
            cj_field,
            source_field,
            limit,
        )
        assert CREATE_ORDER_LIMITS[cj_field] == limit
        assert f"at most {limit}" in problem.message


class TestCreatedOrder:
    def test_cjs_sample_answer_is_read_and_its_interception_said(self) -> None:
        created = read_created_order(data_of("create_order_v2_response.json"))
        assert created.order_id == "123434"
        assert created.order_amount is None  # "" in CJ's sample: not computed
        assert created.logistics_miss is False  # "" in CJ's sample
        placed = placed_from_created(created, "PostNL")
        assert placed.cj_order_id == "123434"
        assert placed.cj_status is None  # "" in CJ's sample
        assert placed.logistic_name == "PostNL"
        # The sample carries interceptOrderReasons [{code 1001, message ""}].
        assert placed.interception is not None
        assert "code 1001" in placed.interception
        assert "MyCJ" in placed.interception

    @pytest.mark.parametrize("missing", [{}, {"orderId": None}, {"orderId": ""}])
    def test_no_order_id_for_non_cj_skus_is_placed_without_one(
        self, missing: dict[str, Any]
    ) -> None:
        answer = {**data_of("create_order_v2_response.json"), "interceptOrderReasons": []}
        answer.pop("orderId")
        placed = placed_from_created(read_created_order({**answer, **missing}), "PostNL")
        assert placed.cj_order_id is None
        assert placed.interception is None

    def test_logistics_miss_is_an_interception(self) -> None:
        answer = {
            **data_of("create_order_v2_response.json"),
            "interceptOrderReasons": None,
            "logisticsMiss": True,
        }
        interception = placed_from_created(read_created_order(answer), "PostNL").interception
        assert interception is not None
        assert "logisticsMiss" in interception

    def test_a_success_without_a_readable_order_is_ambiguous(self) -> None:
        with pytest.raises(CJAmbiguous):
            read_created_order(None)
        with pytest.raises(CJAmbiguous):
            read_created_order({"orderId": {"not": "an id"}})

    def test_cjs_sample_error_is_a_parameter_error(self) -> None:
        body = sample("create_order_v2_error.json")
        with pytest.raises(CJParameterError) as caught:
            unwrap(httpx.Response(200, json=body))
        assert caught.value.code == 1600100
        assert caught.value.message == "Param error"
        offline = error_for_code(1600100, "Interface is offline", None)
        assert isinstance(offline, CJUpstreamError)


class TestOrderDetail:
    def test_cjs_sample_is_read_with_the_id_from_order_id(self) -> None:
        detail = read_order_detail(data_of("get_order_detail_response.json"))
        placed = placed_from_detail(detail)
        # cjOrderId is null in CJ's sample; orderId holds the CJ id.
        assert placed.cj_order_id == "210823100016290555"
        assert placed.cj_status == "CREATED"
        assert placed.logistic_name == "CJPacket Ordinary"
        assert placed.track_number is None
        assert detail.order_amount == Decimal("4.25")
        assert placed.order_amount == Decimal("4.25")  # what balance payment compares


class TestWhatPayingNeeds:
    def test_the_amount_and_parent_order_of_a_created_order_are_kept(self) -> None:
        answer = {
            **data_of("create_order_v2_response.json"),
            "orderAmount": 12.5,
            "shipmentOrderId": "SD25080109282603297001",
        }
        placed = placed_from_created(read_created_order(answer), "PostNL")
        assert placed.order_amount == Decimal("12.5")
        assert placed.shipment_order_id == "SD25080109282603297001"

    def test_cjs_empty_parent_order_is_none(self) -> None:
        placed = placed_from_created(
            read_created_order(data_of("create_order_v2_response.json")), "PostNL"
        )
        assert placed.shipment_order_id is None  # "" in CJ's sample


class TestQuotes:
    def test_the_documented_shape_is_read(self) -> None:
        [quote] = read_quotes(data_of("freight_calculate_response.json"))
        assert quote.logistic_name == "USPS+"
        assert quote.taxes_fee is None
        assert quote.price == Decimal("4.71")
        assert quote.eta_days == (2, 5)

    def test_an_unreadable_answer_is_an_upstream_error(self) -> None:
        with pytest.raises(CJUpstreamError):
            read_quotes([{"logisticPrice": 1}])


class TestDidItReachCJ:
    """The one rule (app.cj.errors.may_have_reached_cj) and where each error comes from."""

    def test_timeouts_without_a_code_reached_nothing_the_rest_may_have(self) -> None:
        assert may_have_reached_cj(CJAmbiguous("no answer in 2.0s")) is True
        assert may_have_reached_cj(error_for_code(1600301, "read timed out", None)) is True
        assert may_have_reached_cj(CJTimeout("could not reach CJ: ConnectTimeout")) is False
        assert may_have_reached_cj(CJTransportError("could not reach CJ: ConnectError")) is False
        assert may_have_reached_cj(error_for_code(1603003, "order already exists", None)) is False


class TestPodProperties:
    SEED_POD_2 = (
        '[{"areaName":"LogoArea","links":["https://cc-west-usa.oss-us-west-1.aliyuncs.com/'
        '9f0b99e6-17ec-4dcd-8916-fc5d644be993_LOGO_NavyBlue.png"],"type":"1"}]'
    )

    def test_seed_004s_pod_2_example_is_rebuilt_exactly_whatever_the_key_order(self) -> None:
        [entry] = json.loads(self.SEED_POD_2)
        shuffled = {"type": entry["type"], "links": entry["links"], "areaName": entry["areaName"]}
        assert pod_properties_text([shuffled]) == self.SEED_POD_2
        assert pod_properties_text(None) is None
        assert pod_properties_text([]) is None
