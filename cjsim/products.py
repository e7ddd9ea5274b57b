"""The simulator's products: the seeded variants grouped the way CJ groups them.

A CJ product (`pid`) has variants (`vid`), a page on cjdropshipping.com
(`…/product/<name>-p-<pid>.html`, seed 002) and stock per warehouse country. The variants
are those of `cjsim.catalog` (their vids and prices do not change), grouped by the first
two parts of their SKU (`CJ-TSHIRT-RED-M` belongs to `CJ-TSHIRT`); the non-CJ SKUs are a
merchant's own goods, which CJ's product API does not know. Everything here is pure
and deterministic; what changes (stock, delisting) lives in `SimState.catalogue`.

Field names follow CJ's product, variant and inventory answers (seed 001 §2-3, the points
page for their cost, public clients for the shapes; the pages give no full sample).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cjsim.catalog import VARIANTS, Variant

_NAMESPACE = uuid.UUID("0b3f5a52-2f5e-4a8e-8c1e-6c1d2f3a4b5c")
SITE = "https://cjdropshipping.com"
IMAGES = "https://cf.cjdropshipping.com/cjsim"
# CJ's warehouse areas by country (`areaId`, `areaEn`), as the stock answers name them.
AREAS = {"CN": ("1", "China Warehouse"), "US": ("2", "US Warehouse")}
# Products made to order with the buyer's artwork (seed 002 "Logo Area POD").
POD_FAMILIES = frozenset({"CJ-TSHIRT", "CJ-MUG"})

# Each product's option names, as product/query gives them: `productKeyEn` the English
# names joined with "-" (its variants' `variantKey` joins their values the same way, e.g.
# "Color-Size" and "Red-M"), `productKey` the Chinese names as a JSON list in a string
# (CJ's product/query sample: "productKey": "[\"颜色\"]", "productKeyEn": "Color").
_OPTION_NAMES = {
    "CJ-TSHIRT": (("Color", "颜色"), ("Size", "尺码")),
    "CJ-HOODIE": (("Color", "颜色"), ("Size", "尺码")),
    "CJ-TEE": (("Color", "颜色"), ("Size", "尺码")),
    "CJ-MUG": (("Color", "颜色"), ("Capacity", "容量")),
    "CJ-BOTTLE": (("Material", "材质"), ("Capacity", "容量")),
    "CJ-PHONECASE": (("Model", "型号"), ("Color", "颜色")),
    "CJ-EARBUDS": (("Type", "类型"), ("Color", "颜色")),
    "CJ-WATCH": (("Style", "款式"), ("Color", "颜色")),
    "CJ-BLANKET": (("Size", "尺码"),),
    "CJ-CANDLE": (("Scent", "香味"),),
    "CJ-LEDSTRIP": (("Length", "长度"),),
    "CJ-DESKLAMP": (("Type", "类型"),),
    "CJ-SOCKS": (("Quantity", "数量"),),
    "CJ-KETTLEBELL": (("Weight", "重量"),),
}
_COLOR_ONLY = (("Color", "颜色"),)

_FAMILY_NAMES = {
    "CJ-TSHIRT": "Cotton T-Shirt",
    "CJ-HOODIE": "Fleece Hoodie",
    "CJ-PHONECASE": "Phone Case",
    "CJ-TEE": "Basic Tee",
    "CJ-NECKLACE": "Pendant Necklace",
}


@dataclass(frozen=True)
class Product:
    pid: str
    sku: str
    name: str
    variants: tuple[Variant, ...]
    pod: bool = False

    @property
    def url(self) -> str:
        slug = self.name.lower().replace(" ", "-")
        return f"{SITE}/product/{slug}-p-{self.pid}.html"

    @property
    def image(self) -> str:
        return f"{IMAGES}/{self.sku.lower()}.jpg"

    @property
    def option_names(self) -> tuple[tuple[str, str], ...]:
        """(English, Chinese) per option, in `variantKey`'s order."""
        return _OPTION_NAMES.get(self.sku, _COLOR_ONLY)

    def variant_key(self, variant: Variant) -> str:
        """The variant's options as CJ writes `variantKey` ("Red-M"); "Default" alone."""
        rest = variant.sku.removeprefix(self.sku).strip("-")
        return "-".join(part.capitalize() for part in rest.split("-")) if rest else "Default"


def _digits(seed: str, width: int) -> int:
    return int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**width


def _pid(family: str, uuid_style: bool) -> str:
    """19 digits, like the pid of seed 002's URL (2503190327561613000), or a UUID, as CJ's
    own product links also show (`…-p-038DE737-0136-41A9-AAE1-91E866149536.html`)."""
    if uuid_style:
        return str(uuid.uuid5(_NAMESPACE, family)).upper()
    return str(2_500_000_000_000_000_000 + _digits(family, 18))


def _family(sku: str) -> str:
    return "-".join(sku.split("-")[:2])


def _build() -> tuple[Product, ...]:
    families: dict[str, list[Variant]] = {}
    for variant in VARIANTS:
        families.setdefault(_family(variant.sku), []).append(variant)
    return tuple(
        Product(
            pid=_pid(family, uuid_style=members[0].from_country == "CN"),
            sku=family,
            name=_FAMILY_NAMES.get(family, members[0].name),
            variants=tuple(members),
            pod=family in POD_FAMILIES,
        )
        for family, members in families.items()
    )


PRODUCTS: tuple[Product, ...] = _build()
_BY_PID = {p.pid: p for p in PRODUCTS}
_BY_VID = {v.vid: p for p in PRODUCTS for v in p.variants}
_BY_PRODUCT_SKU = {p.sku: p for p in PRODUCTS}


def product_by_pid(pid: str) -> Product | None:
    return _BY_PID.get(pid)


def product_of(vid: str) -> Product | None:
    return _BY_VID.get(vid)


def product_by_sku(sku: str) -> Product | None:
    return _BY_PRODUCT_SKU.get(sku)


def initial_stock(variant: Variant) -> dict[str, int]:
    """Stock per warehouse country at start: the variant's own warehouse, and for the US
    T-shirts a second one in China (so a variant can ship from two countries)."""
    stock = {variant.from_country: 40 + _digits(variant.sku, 3) % 460}
    if variant.sku.startswith("CJ-TSHIRT"):
        stock["CN"] = 900 + _digits(variant.sku + "CN", 2)
    return stock


def dimensions_mm(variant: Variant) -> tuple[int, int, int]:
    """Length, width, height in millimetres, growing with the weight."""
    side = 80 + variant.weight_g // 10
    return side, max(60, side * 3 // 4), max(10, variant.weight_g // 25)


def variant_view(product: Product, variant: Variant) -> dict[str, Any]:
    """One variant as product/query, variant/query and variant/queryByVid answer it."""
    length, width, height = dimensions_mm(variant)
    return {
        "vid": variant.vid,
        "pid": product.pid,
        "variantName": variant.name,
        "variantNameEn": variant.name,
        "variantSku": variant.sku,
        "variantKey": product.variant_key(variant),
        "variantImage": f"{IMAGES}/{variant.sku.lower()}.jpg",
        "variantUnit": "piece",
        "variantProperty": None,
        "variantStandard": f"long={length // 10},width={width // 10},height={height // 10}",
        "variantLength": length,
        "variantWidth": width,
        "variantHeight": height,
        "variantVolume": round(length * width * height / 1000, 1),
        "variantWeight": variant.weight_g,
        "variantSellPrice": variant.sell_price,
        "variantSugSellPrice": (variant.sell_price * 3).quantize(variant.sell_price),
        "createTime": "2025-03-19 03:27:56",
    }


def product_view(product: Product, variants: list[dict[str, Any]]) -> dict[str, Any]:
    """product/query's `data` (status "3": on sale)."""
    prices = sorted(v.sell_price for v in product.variants)
    sell = f"{prices[0]}" if prices[0] == prices[-1] else f"{prices[0]} -- {prices[-1]}"
    return {
        "pid": product.pid,
        "productName": f'["{product.name}"]',
        "productNameEn": product.name,
        "productSku": product.sku,
        "productKey": json.dumps(
            [zh for _en, zh in product.option_names], ensure_ascii=False, separators=(",", ":")
        ),
        "productKeyEn": "-".join(en for en, _zh in product.option_names),
        "productImage": product.image,
        "productImageSet": [product.image, product.image.replace(".jpg", "-2.jpg")],
        "productWeight": str(max(v.weight_g for v in product.variants)),
        "productType": "ORDINARY_PRODUCT",
        "productUnit": "piece",
        "categoryId": f"CAT-{product.sku}",
        "categoryName": "cjsim",
        "description": f"<p>{product.name}, from the cjsim catalogue.</p>",
        "sellPrice": sell,
        "suggestSellPrice": None,
        "status": "3",
        "sourceFrom": 1,
        "customizationVersion": 2 if product.pod else 0,
        "variants": variants,
    }


def stock_rows(vid: str, stock: dict[str, int]) -> list[dict[str, Any]]:
    """stock/queryByVid's `data`: one row per warehouse country."""
    rows = []
    for country, quantity in sorted(stock.items()):
        area_id, area_en = AREAS.get(country, ("9", f"{country} Warehouse"))
        factory = quantity // 4
        rows.append(
            {
                "vid": vid,
                "areaId": area_id,
                "areaEn": area_en,
                "countryCode": country,
                "totalInventoryNum": quantity,
                "cjInventoryNum": quantity - factory,
                "factoryInventoryNum": factory,
                "verifiedWarehouse": 1,
                "storageNum": quantity,
            }
        )
    return rows


def inventory_by_pid(stock_of: dict[str, dict[str, int]]) -> dict[str, Any]:
    """stock/getInventoryByPid's `data` (`variantInventories[].inventory[]`, per country)."""
    totals: dict[str, int] = {}
    variants = []
    for vid, stock in stock_of.items():
        entries = []
        for country, quantity in sorted(stock.items()):
            totals[country] = totals.get(country, 0) + quantity
            factory = quantity // 4
            entries.append(
                {
                    "countryCode": country,
                    "totalInventory": quantity,
                    "cjInventory": quantity - factory,
                    "factoryInventory": factory,
                    "verifiedWarehouse": 1,
                }
            )
        variants.append({"vid": vid, "inventory": entries})
    return {
        "inventories": [
            {"countryCode": c, "totalInventoryNum": n} for c, n in sorted(totals.items())
        ],
        "variantInventories": variants,
    }
