"""CJ's products, variants and stock: wire models and their translation, no I/O.

- a product link (`https://cjdropshipping.com/product/<name>-p-<pid>.html`, seed 002) or a
  bare pid is read as the pid; anything else is `NotAProductLink`;
- product/query and product/variant/query answers become `CJProduct` / `CJVariant`
  (weights in grams, dimensions in millimetres, seed 001 §3; CJ sends numbers or strings);
- a product's option names (`productKeyEn`, "Color-Size") and a variant's values
  (`variantKey`, "Black-XL") are both "-"-joined; `option_values` splits a key against the
  names only when it has exactly one part per name (CJ's own product/query sample pairs
  `productKeyEn` "Color" with `variantKey` "Black-XXL", so a key that does not fit is not
  guessed at: the caller falls back to one option);
- stock answers become `{vid: {country: quantity}}`: stock/getInventoryByPid's
  `variantInventories[].inventory[]` (CJ's MCP client reads it so), stock/queryByVid's rows
  (`countryCode`, `totalInventoryNum`, seed 001 §2.5).

Tested on sample payloads (`tests/fixtures/cj_samples/product_*.json`).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, TypeAdapter, field_validator

from app.cj.errors import CJUpstreamError
from app.cj.models import CJId, CJModel, Money
from app.cj.translate import read_answer

PRODUCT_HOSTS = frozenset({"cjdropshipping.com", "www.cjdropshipping.com"})
# CJ's pids: long numbers (2503190327561613000) or UUIDs (038DE737-0136-41A9-AAE1-…).
_PID = r"(?:\d{6,25}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})"
_PRODUCT_PATH = re.compile(rf"^/product/(?:[^/]*-)?p-(?P<pid>{_PID})\.html$")
_BARE_PID = re.compile(rf"^{_PID}$")


class NotAProductLink(ValueError):
    """The text is neither a CJ product URL nor a product id."""


def product_id_from(text: str) -> str:
    """The pid in a CJ product link, or the text itself when it is a pid."""
    value = text.strip()
    if _BARE_PID.fullmatch(value):
        return value
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and (parts.hostname or "").lower() in PRODUCT_HOSTS:
        match = _PRODUCT_PATH.fullmatch(parts.path)
        if match:
            return match.group("pid")
    raise NotAProductLink(
        f"{text!r} is not a CJ product link (https://cjdropshipping.com/product/…-p-<pid>.html) "
        "or a product id"
    )


def _measure(value: Any) -> Any:
    """A weight or length: CJ sends numbers, numeric strings, "" or ranges ("10.00-50.00",
    whose upper end is kept: the heaviest is what shipping must pay for)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        numbers = re.findall(r"\d+(?:\.\d+)?", value)
        if not numbers:
            return None
        try:
            return Decimal(numbers[-1])
        except InvalidOperation:
            return None
    return value


Measure = Annotated[Decimal | None, BeforeValidator(_measure)]


class CJVariant(CJModel):
    vid: CJId
    pid: CJId | None = None
    variant_sku: str | None = Field(default=None, alias="variantSku")
    name: str | None = Field(default=None, alias="variantNameEn")
    variant_key: str | None = Field(default=None, alias="variantKey")
    image: str | None = Field(default=None, alias="variantImage")
    weight_g: Measure = Field(default=None, alias="variantWeight")
    length_mm: Measure = Field(default=None, alias="variantLength")
    width_mm: Measure = Field(default=None, alias="variantWidth")
    height_mm: Measure = Field(default=None, alias="variantHeight")
    sell_price: Money = Field(default=None, alias="variantSellPrice")


class CJProduct(CJModel):
    pid: CJId
    name: str | None = Field(default=None, alias="productNameEn")
    product_sku: str | None = Field(default=None, alias="productSku")
    image: str | None = Field(default=None, alias="productImage")
    option_key: str | None = Field(default=None, alias="productKeyEn")
    images: list[str] = Field(default_factory=list, alias="productImageSet")
    description: str | None = None
    variants: list[CJVariant] = Field(default_factory=list)

    @field_validator("images", mode="before")
    @classmethod
    def _image_list(cls, value: Any) -> Any:
        """A list, or (in some answers) the list as JSON text."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return [value] if value.strip() else []
        return value or []

    @field_validator("variants", mode="before")
    @classmethod
    def _no_variants(cls, value: Any) -> Any:
        return value or []


def option_names(option_key: str | None) -> list[str]:
    """`productKeyEn`'s option names ("Color-Size" -> Color, Size); [] when it names none
    or names one twice."""
    names = [part.strip() for part in (option_key or "").split("-")]
    if not all(names) or len(set(names)) != len(names):
        return []
    return names


def option_values(variant_key: str | None, names: list[str]) -> list[str] | None:
    """`variantKey`'s value for each of `names` ("Black-XL" -> Black, XL), or None when
    the key does not have exactly one non-empty part per name."""
    if not names or not variant_key:
        return None
    values = [part.strip() for part in variant_key.split("-")]
    if len(values) != len(names) or not all(values):
        return None
    return values


_PRODUCT = TypeAdapter(CJProduct)
_VARIANT = TypeAdapter(CJVariant)
_VARIANTS = TypeAdapter(list[CJVariant])


def read_product(data: Any) -> CJProduct:
    return read_answer(_PRODUCT, data, "product answer")


def read_variant(data: Any) -> CJVariant:
    return read_answer(_VARIANT, data, "variant answer")


def read_variants(data: Any) -> list[CJVariant]:
    return read_answer(_VARIANTS, data or [], "variant list")


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float | str):
        try:
            return max(int(Decimal(str(value))), 0)
        except InvalidOperation:
            return None
    return None


def _quantity(entry: dict[str, Any]) -> int:
    """A warehouse's stock: its total, or CJ's own plus the factory's."""
    for name in ("totalInventoryNum", "totalInventory", "storageNum"):
        total = _count(entry.get(name))
        if total is not None:
            return total
    parts = (entry.get(n) for n in ("cjInventoryNum", "cjInventory", "factoryInventoryNum",
                                    "factoryInventory"))  # fmt: skip
    return sum(n for n in (_count(p) for p in parts) if n is not None)


def _by_country(entries: Any) -> dict[str, int]:
    stock: dict[str, int] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        country = str(entry.get("countryCode") or "").strip().upper()
        if len(country) == 2:
            stock[country] = stock.get(country, 0) + _quantity(entry)
    return stock


def read_inventory(data: Any) -> dict[str, dict[str, int]]:
    """stock/getInventoryByPid's `data`: each variant's stock per warehouse country."""
    if not isinstance(data, dict) or not isinstance(data.get("variantInventories"), list):
        raise CJUpstreamError("CJ's inventory answer has no variantInventories")
    stock: dict[str, dict[str, int]] = {}
    for entry in data["variantInventories"]:
        if isinstance(entry, dict) and entry.get("vid") is not None:
            stock[str(entry["vid"])] = _by_country(entry.get("inventory"))
    return stock


def read_stock_rows(data: Any) -> dict[str, int]:
    """stock/queryByVid's `data`: one variant's stock per warehouse country."""
    if not isinstance(data, list):
        raise CJUpstreamError("CJ's stock answer is not a list of warehouses")
    return _by_country(data)
