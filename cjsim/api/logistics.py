"""Freight quotes (`freightCalculate`, 10 points) and tracking (`trackInfo`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from cjsim import catalog, envelope
from cjsim.api.common import PREFIX, account, body_json, opt_str, positive_int, req_str, sim
from cjsim.envelope import CJError
from cjsim.models import DELIVERED, Order, cj_time

router = APIRouter(prefix=f"{PREFIX}/logistic")


def resolve_lines(products: Any, *, allow_sku: bool) -> list[tuple[catalog.Variant, int]]:
    """`products[{vid|sku, quantity}]` → catalogue variants; unknown ones answer 1602000."""
    if not isinstance(products, list) or not products:
        raise envelope.param_empty("products")
    lines = []
    for item in products:
        if not isinstance(item, dict):
            raise CJError(envelope.PARAM_ERROR, "products items must be objects")
        vid = opt_str(item, "vid")
        sku = opt_str(item, "sku") if allow_sku else None
        if vid is None and sku is None:
            raise envelope.param_empty("products.vid")
        variant = catalog.variant_by_vid(vid) if vid else catalog.variant_by_sku(sku or "")
        if variant is None or (vid and sku and variant.sku != sku):
            raise CJError(envelope.VARIANT_NOT_FOUND, f"Variant not found: {vid or sku}")
        if item.get("quantity") is None:
            raise envelope.param_empty("products.quantity")
        lines.append((variant, positive_int(item.get("quantity"), "products.quantity")))
    return lines


def country(body: dict[str, Any], name: str) -> str:
    code = req_str(body, name).upper()
    if code not in catalog.KNOWN_COUNTRIES:
        raise CJError(envelope.COUNTRY_NOT_FOUND, f"Country code not found: {code}")
    return code


@router.post("/freightCalculate")
async def freight_calculate(request: Request) -> Response:
    body = await body_json(request)
    start = country(body, "startCountryCode")
    end = country(body, "endCountryCode")
    lines = resolve_lines(body.get("products"), allow_sku=False)
    weight = catalog.total_weight(lines)
    quotes = catalog.quotes(start, end, opt_str(body, "zip"), weight)
    return envelope.ok([q.public() for q in quotes])


def _track_entry(order: Order, track_number: str) -> dict[str, Any]:
    delivered = order.status == DELIVERED
    last_event = order.delivered_at if delivered else order.shipped_at
    days = None
    if order.shipped_at is not None:
        end = order.delivered_at or order.updated_at
        days = str(max(0, (end - order.shipped_at).days))
    carrier = catalog.carrier_for(order.logistic_name)
    return {
        "trackingNumber": track_number,
        "logisticName": order.logistic_name,
        "trackingFrom": order.from_country,
        "trackingTo": order.shipping.get("shippingCountryCode"),
        "deliveryDay": days,
        "deliveryTime": cj_time(last_event),
        "trackingStatus": "Delivered" if delivered else "In transit",
        "lastMileCarrier": carrier,
        "lastTrackNumber": catalog.last_mile_number(track_number),
    }


async def _track_info(request: Request) -> Response:
    state = sim(request)
    acc = account(request)
    numbers = [n.strip() for n in request.query_params.getlist("trackNumber") if n.strip()]
    if not numbers:
        raise envelope.param_empty("trackNumber")
    by_track = {
        o.track_number: o
        for o in state.orders.values()
        if o.track_number and o.api_key == acc.api_key
    }
    data = [_track_entry(by_track[n], n) for n in numbers if n in by_track]
    return envelope.ok(data)


@router.get("/trackInfo")
async def track_info(request: Request) -> Response:
    return await _track_info(request)


@router.get("/getTrackInfo")
async def get_track_info(request: Request) -> Response:
    """Deprecated by CJ since 2024-06-01; same contract as trackInfo."""
    return await _track_info(request)
