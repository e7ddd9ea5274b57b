"""The `/_sim/*` control API: reset, configuration, faults, order advancement, stats.

Not part of CJ's API: no auth, no latency, no limits, plain JSON (errors as FastAPI
`{"detail": ...}` with 404 / 409 / 422).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

from cjsim import catalog, catalogue_webhooks, lifecycle, products, webhooks
from cjsim.api.common import sim
from cjsim.envelope import json_response, money
from cjsim.models import ALL_STATUSES, CANCELLED, DELIVERED, SHIPPED, Order
from cjsim.state import Fault, SimState

router = APIRouter(prefix="/_sim")


class ConfigPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qps: int | None = Field(default=None, ge=1)
    latency_ms: int | None = Field(default=None, ge=0)
    jitter_ms: int | None = Field(default=None, ge=0)
    mode: Literal["up", "down", "slow"] | None = None
    points_per_day: int | None = Field(default=None, ge=0)
    sign_webhooks: bool | None = None
    balance: Decimal | None = Field(default=None, ge=0)
    token_ttl_seconds: int | None = Field(default=None, ge=0)
    hang_ms: int | None = Field(default=None, ge=0)


class FaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(min_length=1)
    kind: Literal["timeout_after_commit", "http_500", "reset", "code"]
    code: int | None = None
    count: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _code_needed(self) -> FaultIn:
        if self.kind == "code" and self.code is None:
            raise ValueError("kind 'code' needs a code")
        return self


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    track_number: str | None = Field(default=None, min_length=1, max_length=64)


class StockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country_code: str = Field(pattern=r"^[A-Z]{2}$")
    quantity: int = Field(ge=0)


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listed: bool


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finally_deal: Literal[1, 2, 3] = 1  # 1 refund, 2 reissue, 3 reject


@router.post("/reset")
async def reset(request: Request) -> Response:
    state = sim(request)
    async with state.lock:
        state.reset()
    return json_response({"reset": True})


@router.get("/catalog")
async def get_catalog(request: Request) -> Response:
    state = sim(request)
    return json_response(
        {
            "variants": [v.public() for v in catalog.VARIANTS],
            "non_cj_variants": [v.public() for v in catalog.NON_CJ_VARIANTS],
            "products": [_product_public(state, p) for p in products.PRODUCTS],
        }
    )


def _product_public(state: SimState, product: products.Product) -> dict[str, Any]:
    return {
        "pid": product.pid,
        "sku": product.sku,
        "name": product.name,
        "url": product.url,
        "pod": product.pod,
        "listed": not state.catalogue.is_delisted(product),
        "variants": [
            {
                "vid": v.vid,
                "sku": v.sku,
                "listed": not state.catalogue.is_delisted(product, v.vid),
                "stock": state.catalogue.stock_of(v),
            }
            for v in product.variants
        ],
    }


@router.post("/variants/{vid}/stock")
async def set_stock(vid: str, change: StockIn, request: Request) -> Response:
    """Set one warehouse's stock of a variant (as CJ's warehouse would change it)."""
    state = sim(request)
    variant = catalog.variant_by_vid(vid)
    product = products.product_of(vid)
    if variant is None or product is None:
        raise HTTPException(404, f"variant {vid} not found")
    before = state.catalogue.set_stock(variant, change.country_code, change.quantity)
    stock = state.catalogue.stock_of(variant)
    sent = await _broadcast(
        state,
        catalogue_webhooks.STOCK_TOPIC,
        lambda open_id: catalogue_webhooks.stock_message(
            variant, stock, before, change.quantity, open_id
        ),
    )
    return json_response({"vid": vid, "before": before, "stock": stock, "webhooks": sent})


async def _broadcast(
    state: SimState, topic: str, build: Callable[[int], dict[str, Any]]
) -> list[dict[str, Any]]:
    """A catalogue message to every account with a `topic` callback, signed per account."""
    results: list[dict[str, Any]] = []
    for account in list(state.accounts.values()):
        urls = account.callbacks.get(topic, [])
        if not urls:
            continue
        message = build(account.open_id)
        sent = await webhooks.deliver(
            [(url, message) for url in urls], account.open_id, state.config.sign_webhooks
        )
        state.stats.webhooks_sent += len(sent)
        state.webhook_log.extend(sent)
        results += sent
    return results


@router.post("/listing/{item_id}")
async def set_listing(item_id: str, change: ListingIn, request: Request) -> Response:
    """Take a product (pid) or one variant (vid) off the shelves, or back on."""
    state = sim(request)
    product = products.product_by_pid(item_id) or products.product_of(item_id)
    if product is None:
        raise HTTPException(404, f"no product or variant {item_id}")
    if change.listed:
        state.catalogue.delisted.discard(item_id)
    else:
        state.catalogue.delisted.add(item_id)
    variant = catalog.variant_by_vid(item_id) if item_id != product.pid else None
    sent = await _broadcast(
        state,
        catalogue_webhooks.PRODUCT_TOPIC,
        lambda open_id: catalogue_webhooks.listing_message(
            product, variant, change.listed, open_id
        ),
    )
    return json_response({**_product_public(state, product), "webhooks": sent})


@router.get("/config")
async def get_config(request: Request) -> Response:
    return json_response(sim(request).config.public())


@router.post("/config")
async def set_config(patch: ConfigPatch, request: Request) -> Response:
    state = sim(request)
    for name, value in patch.model_dump(exclude_none=True).items():
        setattr(state.config, name, money(value) if name == "balance" else value)
    return json_response(state.config.public())


@router.get("/faults")
async def get_faults(request: Request) -> Response:
    faults = sim(request).faults
    return json_response({op: [f.public() for f in queue] for op, queue in faults.items() if queue})


@router.post("/faults")
async def add_fault(fault: FaultIn, request: Request) -> Response:
    state = sim(request)
    state.add_fault(fault.endpoint, Fault(kind=fault.kind, remaining=fault.count, code=fault.code))
    return await get_faults(request)


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    sim(request).faults.clear()
    return json_response({})


@router.get("/orders")
async def list_orders(request: Request) -> Response:
    state = sim(request)
    orders = [
        {
            **o.detail(),
            "openId": o.open_id,
            "podProperties": {
                i.store_line_item_id or i.line_item_id: i.pod_properties
                for i in o.items
                if i.pod_properties
            },
        }
        for o in state.orders.values()
    ]
    return json_response({"orders": orders})


async def _notify(state: SimState, order: Order) -> list[dict[str, Any]]:
    """Send the webhooks for the order's current state to the account's callbacks."""
    return await _send(state, order, webhooks.messages_for(order, state.utcnow()))


async def _send(
    state: SimState, order: Order, messages: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    callbacks = state.account(order.api_key).callbacks
    deliveries = [
        (topic, url, message) for topic, message in messages for url in callbacks.get(topic, [])
    ]
    return await _deliver(state, order.api_key, order.open_id, deliveries, retries=0)


async def _deliver(
    state: SimState,
    api_key: str,
    open_id: int,
    deliveries: list[tuple[str, str, dict[str, Any]]],
    *,
    retries: int,
) -> list[dict[str, Any]]:
    """Deliver, then keep CJ's books: a failure is retried later, a topic below 80 %
    success in each of the two previous full hours is switched off."""
    results = await webhooks.deliver(
        [(url, message) for _, url, message in deliveries], open_id, state.config.sign_webhooks
    )
    now = state.now()
    account = state.account(api_key)
    for (topic, url, message), report in zip(deliveries, results, strict=True):
        ok = report.get("status_code") == 200
        state.deliveries.record(now, api_key, topic, url, message, ok=ok, retries=retries)
        if (
            not ok
            and account.callbacks.get(topic)
            and state.deliveries.should_close(now, api_key, topic)
        ):
            account.callbacks.pop(topic, None)
            state.deliveries.closed.append({"topic": topic, "at": now, "url": url})
    state.stats.webhooks_sent += len(results)
    state.webhook_log.extend(results)
    return results


async def retry_due(state: SimState) -> list[dict[str, Any]]:
    """Send the failed deliveries whose 5 minutes are up (to the topic's URL as it is now:
    none once the topic is closed)."""
    results: list[dict[str, Any]] = []
    for retry in state.deliveries.take_due(state.now()):
        account = state.account(retry.api_key)
        if retry.url not in account.callbacks.get(retry.topic, []):
            continue
        results += await _deliver(
            state,
            retry.api_key,
            account.open_id,
            [(retry.topic, retry.url, retry.message)],
            retries=retry.retries,
        )
    return results


@router.post("/orders/{order_id}/advance")
async def advance_order(order_id: str, move: AdvanceIn, request: Request) -> Response:
    state = sim(request)
    if move.status not in ALL_STATUSES:
        raise HTTPException(422, f"status must be one of {', '.join(ALL_STATUSES)}")
    async with state.lock:
        order = state.find_order(order_id)
        if order is None:
            raise HTTPException(404, f"order {order_id} not found")
        try:
            lifecycle.advance(state, order, move.status, move.track_number)
        except lifecycle.TransitionError as exc:
            raise HTTPException(409, str(exc)) from None
    # Delivered outside the lock: a receiver may call back into the simulator.
    results = await _notify(state, order)
    return json_response({"order": order.detail(), "webhooks": results})


class ProblemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_status: Literal[13, 14]
    parcel: str | None = Field(default=None, min_length=1, max_length=64)


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parts: int = Field(default=2, ge=2, le=10)


@router.post("/orders/{order_id}/tracking-problem")
async def tracking_problem(order_id: str, body: ProblemIn, request: Request) -> Response:
    """A LOGISTIC webhook with trackingStatus 13 (exception) or 14 (returned) for a tracked
    order (or one of its split parcels); CJ's order status does not change."""
    state = sim(request)
    order = state.find_order(order_id)
    if order is None:
        raise HTTPException(404, f"order {order_id} not found")
    if not order.track_number:
        raise HTTPException(409, "the order has no tracking number yet")
    message = webhooks.problem_message(order, body.tracking_status, body.parcel)
    results = await _send(state, order, [(webhooks.LOGISTICS_TOPIC, message)])
    return json_response({"order": order.detail(), "webhooks": results})


@router.post("/orders/{order_id}/split")
async def split_order(order_id: str, body: SplitIn, request: Request) -> Response:
    """CJ splits the order into `parts` parcels: an ORDERSPLIT webhook (order topic)."""
    state = sim(request)
    order = state.find_order(order_id)
    if order is None:
        raise HTTPException(404, f"order {order_id} not found")
    codes = [f"{order.cj_id}{n:02d}" for n in range(1, body.parts + 1)]
    message = webhooks.split_message(order, codes, state.utcnow())
    results = await _send(state, order, [(webhooks.ORDER_TOPIC, message)])
    return json_response({"parcels": codes, "webhooks": results})


@router.post("/webhooks/retry")
async def retry_webhooks(request: Request) -> Response:
    """Deliver the failed webhooks whose retry is due (CJ: 5 minutes, up to 3 times)."""
    results = await retry_due(sim(request))
    return json_response({"webhooks": results})


@router.get("/webhooks/closed")
async def closed_topics(request: Request) -> Response:
    """Topics CJ switched off (below 80 % success in each of the two previous hours)."""
    return json_response({"closed": sim(request).deliveries.closed})


@router.post("/disputes/{dispute_id}/resolve")
async def resolve_dispute(dispute_id: str, outcome: ResolveIn, request: Request) -> Response:
    """Close a dispute as CJ staff would. A refund credits the balance and, unless the order
    has shipped, cancels it (with an ORDER webhook); a reissue or a rejection changes nothing."""
    state = sim(request)
    async with state.lock:
        dispute = state.disputes.get(dispute_id)
        if dispute is None:
            raise HTTPException(404, f"dispute {dispute_id} not found")
        if dispute.status != "PROCESSING":
            raise HTTPException(409, f"dispute is {dispute.status}")
        order = state.orders[dispute.order_id]
        dispute.finally_deal = outcome.finally_deal
        dispute.status = "FINISHED" if outcome.finally_deal != 3 else "REJECTED"
        cancelled = False
        if outcome.finally_deal == 1:
            if not order.is_sandbox:
                state.config.balance = money(state.config.balance + dispute.amount)
            if order.status not in (CANCELLED, SHIPPED, DELIVERED):
                lifecycle.advance(state, order, CANCELLED, None)
                cancelled = True
    results = await _notify(state, order) if cancelled else []
    return json_response({"dispute": dispute.public(), "webhooks": results})


@router.get("/webhooks")
async def webhook_log(request: Request) -> Response:
    return json_response({"webhooks": list(sim(request).webhook_log)})


@router.get("/stats")
async def stats(request: Request) -> Response:
    return json_response(sim(request).stats_public())
