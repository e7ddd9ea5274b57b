"""API shapes for `/v1/products`: CJ products in the catalogue and their variants' SKUs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from app.cj.catalogue import option_names
from app.db.models import SkuMapping
from app.schemas.rules import StrictInput, id_field, text_field
from app.services.catalogue import StoredProduct
from app.services.store_skus import PLACEHOLDERS


class ProductAdd(StrictInput):
    product: Annotated[
        str,
        text_field(
            500,
            min_length=1,
            description="A CJ product link (https://cjdropshipping.com/product/<name>-p-<pid>"
            ".html) or its pid:",
        ),
    ]
    sku_template: (
        Annotated[
            str,
            text_field(
                128,
                min_length=1,
                description="Store SKUs from "
                + " ".join("{" + p + "}" for p in PLACEHOLDERS)
                + " (default: CJ's variant SKU):",
            ),
        ]
        | None
    ) = None
    skus: (
        dict[
            Annotated[str, id_field(128, "CJ's variant id:")],
            Annotated[str, text_field(128, min_length=1, description="The store SKU:")],
        ]
        | None
    ) = Field(default=None, max_length=500, description="Store SKUs per vid (before the template)")


class DimensionsRead(BaseModel):
    length: str | None
    width: str | None
    height: str | None


class VariantRead(BaseModel):
    sku: str = Field(description="The store SKU Medusa sends")
    vid: str
    cj_sku: str | None
    name: str | None
    variant_key: str | None = Field(
        description="CJ's option values, '-'-joined in the product's `options` order ('Black-XL')"
    )
    ship_from: list[str] = Field(description="Countries of the CJ warehouses holding it")
    stock: dict[str, int] = Field(description="Quantity per warehouse country, as CJ last said")
    weight_g: str | None = Field(description="Grams, a decimal string")
    dimensions_mm: DimensionsRead
    sell_price: str | None = Field(description="CJ's price in USD, a decimal string")
    listed: bool | None = Field(description="False once CJ says it is unknown or off the shelves")
    checked_at: datetime | None

    @classmethod
    def of(cls, mapping: SkuMapping, stock: dict[str, int]) -> VariantRead:
        def text(value: object) -> str | None:
            return None if value is None else str(value)

        return cls(
            sku=mapping.sku,
            vid=mapping.vid,
            cj_sku=mapping.cj_sku,
            name=mapping.variant_name,
            variant_key=mapping.variant_key,
            ship_from=list(mapping.ship_from or []),
            stock=stock,
            weight_g=text(mapping.weight_g),
            dimensions_mm=DimensionsRead(
                length=text(mapping.length_mm),
                width=text(mapping.width_mm),
                height=text(mapping.height_mm),
            ),
            sell_price=text(mapping.sell_price),
            listed=mapping.listed,
            checked_at=mapping.checked_at,
        )


class ProductRead(BaseModel):
    pid: str
    name: str
    url: str | None
    listed: bool
    images: list[str]
    options: list[str] = Field(
        description="CJ's option names (productKeyEn: 'Color-Size' is Color, Size); empty "
        "when CJ names none"
    )
    variants: list[VariantRead]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredProduct) -> ProductRead:
        product = stored.product
        return cls(
            pid=product.pid,
            name=product.name,
            url=product.url,
            listed=product.listed,
            images=list(product.images or []),
            options=option_names(product.option_key),
            variants=[VariantRead.of(m, stored.stock.get(m.vid, {})) for m in stored.mappings],
            created_at=product.created_at,
            updated_at=product.updated_at,
        )


class ProductList(BaseModel):
    products: list[ProductRead]
