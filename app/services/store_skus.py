"""The store SKU each added CJ variant gets: CJ's variant SKU, a template, or a CSV.

A template names parts of CJ's product in braces: `{variant_sku}` (CJ's variant SKU),
`{product_sku}`, `{variant_key}` (CJ's options, e.g. `Black-M`), `{vid}`, `{pid}`; e.g.
`SHOP-{product_sku}-{variant_key}`. A CSV (header `vid,sku`) names SKUs for some vids;
the others fall back to the template or CJ's SKU.
"""

from __future__ import annotations

import csv
import io
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.cj.catalogue import CJProduct, CJVariant
from app.core.errors import Unprocessable

MAX_SKU_LENGTH = 128  # sku_mappings.sku
PLACEHOLDERS = ("variant_sku", "product_sku", "variant_key", "vid", "pid")
_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f]")


class BadSkuRule(Unprocessable):
    type_slug = "bad-sku-rule"
    description = (
        "`bad-sku-rule`: the SKU template or SKU list cannot be used (the detail says why)"
    )


@dataclass(frozen=True)
class SkuRule:
    template: str | None = None
    by_vid: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, template: str | None = None, by_vid: Mapping[str, str] | None = None) -> SkuRule:
        if template is not None:
            check_template(template)
        for vid, sku in (by_vid or {}).items():
            problem = sku_problem(sku)
            if problem:
                raise BadSkuRule(f"the SKU given for vid {vid} {problem}")
        return cls(template=template, by_vid=dict(by_vid or {}))

    def sku_for(self, product: CJProduct, variant: CJVariant) -> str:
        given = self.by_vid.get(variant.vid)
        if given:
            return given
        parts = {
            "variant_sku": variant.variant_sku or variant.vid,
            "product_sku": product.product_sku or product.pid,
            "variant_key": variant.variant_key or variant.vid,
            "vid": variant.vid,
            "pid": product.pid,
        }
        if self.template is None:
            return parts["variant_sku"]
        return self.template.format(**parts)


def check_template(template: str) -> None:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise BadSkuRule(f"the SKU template {template!r} is not valid: {exc}") from None
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown or not names:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise BadSkuRule(
            f"the SKU template {template!r} must use only {known} (and at least one of them)"
        )


def sku_problem(sku: str) -> str | None:
    """Why `sku` cannot be a store SKU, or None."""
    if not sku.strip():
        return "is empty"
    if len(sku) > MAX_SKU_LENGTH:
        return f"is longer than {MAX_SKU_LENGTH} characters ({len(sku)})"
    if _CONTROL.search(sku):
        return "has a control character"
    return None


def read_sku_csv(text: str) -> dict[str, str]:
    """`vid,sku` rows (header required, other columns ignored) as {vid: sku}."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise BadSkuRule(f"the SKU list is not valid CSV ({exc})") from None
    if not rows:
        raise BadSkuRule("the SKU list is empty; it needs a header row with vid and sku")
    header = [name.strip().lower() for name in rows[0]]
    if "vid" not in header or "sku" not in header:
        raise BadSkuRule("the SKU list's header row must name the columns vid and sku")
    vid_at, sku_at = header.index("vid"), header.index("sku")
    skus: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        vid = row[vid_at].strip() if vid_at < len(row) else ""
        sku = row[sku_at].strip() if sku_at < len(row) else ""
        if not vid or not sku:
            raise BadSkuRule(f"line {line} of the SKU list needs both a vid and a sku")
        skus[vid] = sku
    return skus
