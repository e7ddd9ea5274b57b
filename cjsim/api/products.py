"""Products, variants and stock (each 10 points, CJ's points page).

`product/query` and `product/variant/query` take `pid`, `productSku` or `variantSku`;
`variant/queryByVid` and `stock/queryByVid` a `vid`; `stock/getInventoryByPid` a `pid`. An
unknown product answers 1602001, an unknown variant 1602000, a product taken off the shelves
1602002 and such a variant 1602003 (CJ's global code table; the product pages document no
error answer of their own). Delisted variants are left out of a product's variant list.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from cjsim import catalog, envelope, products
from cjsim.api.common import PREFIX, query_str, sim
from cjsim.envelope import CJError
from cjsim.state import SimState

router = APIRouter(prefix=f"{PREFIX}/product")


def _listed_product(
    state: SimState, product: products.Product | None, asked: str
) -> products.Product:
    if product is None:
        raise CJError(envelope.PRODUCT_NOT_FOUND, f"Product not found: {asked}")
    if state.catalogue.is_delisted(product):
        raise CJError(envelope.PRODUCT_OFF_SHELF, f"Product {product.pid} is off the shelves")
    return product


def _asked_product(request: Request) -> products.Product:
    """By `pid`, `productSku` or `variantSku` (the first one given)."""
    state = sim(request)
    pid = query_str(request, "pid")
    if pid is not None:
        return _listed_product(state, products.product_by_pid(pid), pid)
    product_sku = query_str(request, "productSku")
    if product_sku is not None:
        found = products.product_by_sku(product_sku)
        return _listed_product(state, found, product_sku)
    variant_sku = query_str(request, "variantSku")
    if variant_sku is not None:
        variant = catalog.variant_by_sku(variant_sku)
        found = products.product_of(variant.vid) if variant else None
        return _listed_product(state, found, variant_sku)
    raise envelope.param_empty("pid")


def _listed_variants(state: SimState, product: products.Product) -> list[dict[str, Any]]:
    return [
        products.variant_view(product, v)
        for v in product.variants
        if not state.catalogue.is_delisted(product, v.vid)
    ]


def _asked_variant(request: Request) -> tuple[products.Product, catalog.Variant]:
    state = sim(request)
    vid = query_str(request, "vid")
    if vid is None:
        raise envelope.param_empty("vid")
    variant = catalog.variant_by_vid(vid)
    product = products.product_of(vid)
    if variant is None or product is None:
        raise CJError(envelope.VARIANT_NOT_FOUND, f"Variant not found: {vid}")
    _listed_product(state, product, vid)
    if state.catalogue.is_delisted(product, vid):
        raise CJError(envelope.VARIANT_OFF_SHELF, f"Variant {vid} is off the shelves")
    return product, variant


@router.get("/query")
async def product_query(request: Request) -> Response:
    state = sim(request)
    product = _asked_product(request)
    return envelope.ok(products.product_view(product, _listed_variants(state, product)))


@router.get("/variant/query")
async def variant_query(request: Request) -> Response:
    state = sim(request)
    return envelope.ok(_listed_variants(state, _asked_product(request)))


@router.get("/variant/queryByVid")
async def variant_by_vid(request: Request) -> Response:
    product, variant = _asked_variant(request)
    return envelope.ok(products.variant_view(product, variant))


@router.get("/stock/queryByVid")
async def stock_by_vid(request: Request) -> Response:
    state = sim(request)
    _, variant = _asked_variant(request)
    return envelope.ok(products.stock_rows(variant.vid, state.catalogue.stock_of(variant)))


@router.get("/stock/getInventoryByPid")
async def inventory_by_pid(request: Request) -> Response:
    """Like CJ's (an `{success, code}` envelope, seen in public clients)."""
    state = sim(request)
    pid = query_str(request, "pid")
    if pid is None:
        raise envelope.param_empty("pid")
    product = _listed_product(state, products.product_by_pid(pid), pid)
    stock = {
        v.vid: state.catalogue.stock_of(v)
        for v in product.variants
        if not state.catalogue.is_delisted(product, v.vid)
    }
    return envelope.json_response(
        {
            "code": envelope.OK,
            "success": True,
            "message": "Success",
            "data": products.inventory_by_pid(stock),
            "requestId": envelope.request_id(),
        }
    )
