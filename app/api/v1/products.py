"""CJ products in the catalogue: add (from a link or pid), list, read, remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.api.deps import ContainerDep
from app.api.problems import problem_responses
from app.core.errors import InvalidRequest
from app.schemas.products import ProductAdd, ProductList, ProductRead
from app.schemas.rules import ID_PATTERN, ID_RULE
from app.services.catalogue import (
    CJNotAnswering,
    CJPointsGone,
    DelistedCJProduct,
    NotACJProduct,
    ProductNotAdded,
    SkuTaken,
    UnknownCJProduct,
)
from app.services.store_skus import BadSkuRule, SkuRule

router = APIRouter(prefix="/products", tags=["products"])

Pid = Annotated[str, Path(max_length=64, pattern=ID_PATTERN, description=f"CJ's pid: {ID_RULE}")]


@router.post(
    "",
    status_code=201,
    summary="Add a CJ product: every variant gets a store SKU mapping (added again: updated)",
    responses=problem_responses(
        InvalidRequest,
        NotACJProduct,
        UnknownCJProduct,
        DelistedCJProduct,
        BadSkuRule,
        SkuTaken,
        CJPointsGone,
        CJNotAnswering,
    ),
)
async def add_product(body: ProductAdd, container: ContainerDep) -> ProductRead:
    rule = SkuRule.of(body.sku_template, body.skus)
    added = await container.catalogue.add(body.product, rule)
    return ProductRead.of(await container.catalogue.get(added.pid))


@router.get("")
async def list_products(container: ContainerDep) -> ProductList:
    return ProductList(products=[ProductRead.of(s) for s in await container.catalogue.list()])


@router.get("/{pid}", responses=problem_responses(ProductNotAdded))
async def get_product(pid: Pid, container: ContainerDep) -> ProductRead:
    return ProductRead.of(await container.catalogue.get(pid))


@router.delete(
    "/{pid}",
    status_code=204,
    summary="Forget the product and unmap its variants' SKUs",
    responses=problem_responses(ProductNotAdded, NotACJProduct),
)
async def remove_product(pid: Pid, container: ContainerDep) -> Response:
    await container.catalogue.remove(pid)
    return Response(status_code=204)
