"""The seeded catalogue of variants and the freight rules of the simulator.

Everything here is pure and deterministic: the same request always yields the same numbers,
so a rate cache in the service can be tested for hits and misses. Prices depend on the total
weight, the route, a destination multiplier and a remote-zip surcharge (so that `zip` matters
in the cache key). A few logistics stop above a weight limit, so "the first available
logistic of an option" is exercised. Some quirks of the real API are reproduced on purpose:
`totalPostageFee` of 0 while `logisticPrice` is positive, `taxesFee` null or missing.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cjsim.envelope import money

_NAMESPACE = uuid.UUID("6f1c1a8e-3a52-4a8e-9d0e-5b7c0c1e2d31")
CNY_PER_USD = Decimal("7.10")
REMOTE_ZIP_SURCHARGE = Decimal("3.00")


@dataclass(frozen=True)
class Variant:
    vid: str
    sku: str
    name: str
    from_country: str
    weight_g: int
    sell_price: Decimal
    # False: a merchant's own product (a "non-CJ SKU", seed 004 §1.1), whose createOrder
    # answer carries no CJ order id.
    cj_product: bool = True

    def public(self) -> dict[str, Any]:
        return {
            "vid": self.vid,
            "sku": self.sku,
            "name": self.name,
            "from_country": self.from_country,
            "weight_g": self.weight_g,
            "sell_price": self.sell_price,
        }


def _uuid_vid(sku: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, sku)).upper()


def _numeric_vid(sku: str) -> str:
    digest = int(hashlib.sha256(sku.encode()).hexdigest(), 16)
    return str(1_300_000_000_000_000_000 + digest % 700_000_000_000_000_000)


def _build_catalog() -> tuple[Variant, ...]:
    rows: list[tuple[str, str, str, int, str, bool]] = []  # sku, name, from, g, price, uuid-vid
    for color in ("RED", "BLACK", "WHITE"):
        for size in ("S", "M", "L"):
            rows.append(
                (f"CJ-TSHIRT-{color}-{size}", f"Cotton T-Shirt {color} {size}", "US",
                 170 + 20 * "SML".index(size), "6.50", True)
            )  # fmt: skip
    rows += [
        ("CJ-HOODIE-GREY-M", "Fleece Hoodie Grey M", "US", 650, "14.20", True),
        ("CJ-HOODIE-GREY-L", "Fleece Hoodie Grey L", "US", 700, "14.20", True),
        ("CJ-MUG-WHITE-11OZ", "Ceramic Mug White 11oz", "US", 420, "3.90", True),
        ("CJ-YOGAMAT-PURPLE", "Yoga Mat Purple 6mm", "US", 1300, "11.80", True),
        ("CJ-BLANKET-QUEEN", "Weighted Blanket Queen", "US", 2400, "24.50", True),
        ("CJ-CANDLE-VANILLA", "Soy Candle Vanilla", "US", 350, "4.10", False),
        ("CJ-BOTTLE-STEEL-750", "Steel Bottle 750ml", "US", 380, "5.60", False),
        ("CJ-CAP-NAVY", "Baseball Cap Navy", "US", 120, "3.30", False),
    ]
    for model in ("IPHONE15", "IPHONE15PRO", "GALAXYS24"):
        for finish in ("BLACK", "CLEAR"):
            rows.append(
                (f"CJ-PHONECASE-{model}-{finish}", f"Phone Case {model} {finish}", "CN", 60,
                 "1.20", False)
            )  # fmt: skip
    for color in ("BLUE", "GREEN"):
        for size in ("M", "L"):
            rows.append(
                (f"CJ-TEE-{color}-{size}", f"Basic Tee {color} {size}", "CN", 160, "2.80", True)
            )
    rows += [
        ("CJ-NECKLACE-GOLD", "Pendant Necklace Gold", "CN", 30, "0.90", False),
        ("CJ-NECKLACE-SILVER", "Pendant Necklace Silver", "CN", 30, "0.85", False),
        ("CJ-LEDSTRIP-5M", "LED Strip 5m RGB", "CN", 300, "3.70", True),
        ("CJ-EARBUDS-BT-WHITE", "Bluetooth Earbuds White", "CN", 150, "6.90", True),
        ("CJ-BACKPACK-BLACK", "Travel Backpack Black", "CN", 900, "9.40", True),
        ("CJ-DESKLAMP-LED", "LED Desk Lamp", "CN", 1500, "8.80", False),
        ("CJ-WATCH-SPORT-BLACK", "Sport Watch Black", "CN", 90, "4.50", True),
        ("CJ-SOCKS-5PACK", "Cotton Socks 5-pack", "CN", 250, "2.10", False),
        ("CJ-KETTLEBELL-8KG", "Kettlebell 8kg", "CN", 8200, "19.00", True),
    ]
    return tuple(
        Variant(
            vid=_uuid_vid(sku) if uuid_vid else _numeric_vid(sku),
            sku=sku,
            name=name,
            from_country=origin,
            weight_g=weight,
            sell_price=Decimal(price),
        )
        for sku, name, origin, weight, price, uuid_vid in rows
    )


VARIANTS: tuple[Variant, ...] = _build_catalog()
# Kept apart from VARIANTS so the catalogue the benchmarks draw from stays the same.
NON_CJ_VARIANTS: tuple[Variant, ...] = (
    Variant(
        vid=_uuid_vid("STORE-POSTER-A3"),
        sku="STORE-POSTER-A3",
        name="Store Poster A3 (non-CJ SKU)",
        from_country="US",
        weight_g=200,
        sell_price=Decimal("2.40"),
        cj_product=False,
    ),
)
_BY_VID = {v.vid: v for v in (*VARIANTS, *NON_CJ_VARIANTS)}
_BY_SKU = {v.sku: v for v in (*VARIANTS, *NON_CJ_VARIANTS)}


def variant_by_vid(vid: str) -> Variant | None:
    return _BY_VID.get(vid)


def variant_by_sku(sku: str) -> Variant | None:
    return _BY_SKU.get(sku)


# ISO-3166 alpha-2 codes the simulator recognises; any other code answers 1605002.
KNOWN_COUNTRIES = frozenset(
    [
        "US",
        "CA",
        "MX",
        "GB",
        "IE",
        "DE",
        "FR",
        "ES",
        "IT",
        "NL",
        "BE",
        "AT",
        "CH",
        "SE",
        "NO",
        "DK",
        "FI",
        "PL",
        "PT",
        "CZ",
        "AU",
        "NZ",
        "JP",
        "KR",
        "CN",
        "HK",
        "TW",
        "SG",
        "MY",
        "TH",
        "PH",
        "ID",
        "VN",
        "IN",
        "AE",
        "SA",
        "IL",
        "TR",
        "BR",
        "AR",
        "CL",
        "CO",
        "ZA",
    ]
)


@dataclass(frozen=True)
class Logistic:
    """One carrier product on one route.

    `fees` picks a quirk profile: "none" (taxesFee/clearanceOperationFee null, total = price),
    "missing" (fee keys absent), "zero_total" (totalPostageFee 0 while the price is positive),
    "taxed" (real fees added into the total), "zero" (fees 0.00).
    """

    name: str
    aging: str
    base: Decimal
    per_100g: Decimal
    max_weight_g: int | None
    fees: str
    carrier: str
    taxes: Decimal = Decimal("0")
    clearance: Decimal = Decimal("0")


def _lg(
    name: str,
    aging: str,
    base: str,
    per_100g: str,
    max_g: int | None,
    fees: str,
    carrier: str,
    taxes: str = "0",
    clearance: str = "0",
) -> Logistic:
    return Logistic(
        name, aging, Decimal(base), Decimal(per_100g), max_g, fees, carrier,
        Decimal(taxes), Decimal(clearance),
    )  # fmt: skip


_US_DOMESTIC = (
    _lg("USPS+", "5-7", "3.20", "0.35", 2000, "none", "USPS"),
    _lg("USPS Priority", "3-4", "7.50", "0.55", None, "zero_total", "USPS"),
    _lg("UPS Ground", "3-5", "8.90", "0.40", None, "zero", "UPS"),
    _lg("CJPacket US Standard", "6-8", "2.80", "0.30", 4000, "missing", "CJPacket"),
)
_CN_INTERNATIONAL = (
    _lg("CJPacket Ordinary", "7-12", "4.10", "0.45", 2500, "none", "CJPacket"),
    _lg("CJPacket Sensitive", "8-15", "5.20", "0.52", 2000, "zero_total", "CJPacket"),
    _lg("YunExpress Standard", "8-12", "4.60", "0.48", 5000, "taxed", "YunExpress", "0", "0.50"),
    _lg("DHL Express", "3-5", "18.00", "1.20", None, "taxed", "DHL", "2.50", "1.80"),
)
_US_TO_CA = (
    _lg("USPS International", "7-12", "9.80", "0.70", 2000, "taxed", "USPS", "0", "1.20"),
    _lg("CJPacket Ordinary", "7-12", "6.40", "0.50", 2500, "none", "CJPacket"),
)
_CN_MULTIPLIER = {
    "US": Decimal("1.00"),
    "CA": Decimal("1.15"),
    "GB": Decimal("1.10"),
    "DE": Decimal("1.12"),
    "FR": Decimal("1.12"),
    "AU": Decimal("1.30"),
    "MX": Decimal("1.20"),
}

ROUTES: dict[tuple[str, str], tuple[tuple[Logistic, ...], Decimal]] = {
    ("US", "US"): (_US_DOMESTIC, Decimal("1.00")),
    ("US", "CA"): (_US_TO_CA, Decimal("1.00")),
    **{("CN", dest): (_CN_INTERNATIONAL, mult) for dest, mult in _CN_MULTIPLIER.items()},
}


def is_remote_zip(country: str, zip_code: str | None) -> bool:
    """Alaska/Hawaii in the US, the territories in Canada: a flat surcharge applies."""
    if not zip_code:
        return False
    z = zip_code.strip().upper()
    if country == "US":
        return z.startswith(("99", "967", "968"))
    if country == "CA":
        return z.startswith(("X", "Y"))
    return False


@dataclass(frozen=True)
class Quote:
    logistic: Logistic
    price: Decimal
    taxes: Decimal
    clearance: Decimal

    @property
    def effective(self) -> Decimal:
        """What the order is charged for postage (the real cost, quirks aside)."""
        return money(self.price + self.taxes + self.clearance)

    def public(self) -> dict[str, Any]:
        lg = self.logistic
        item: dict[str, Any] = {
            "logisticAging": lg.aging,
            "logisticName": lg.name,
            "logisticPrice": self.price,
            "logisticPriceCn": money(self.price * CNY_PER_USD),
        }
        if lg.fees == "none":
            item.update(taxesFee=None, clearanceOperationFee=None, totalPostageFee=self.price)
        elif lg.fees == "missing":
            item.update(totalPostageFee=self.price)
        elif lg.fees == "zero_total":
            item.update(clearanceOperationFee=None, totalPostageFee=Decimal("0"))
        elif lg.fees == "zero":
            zero = Decimal("0.00")
            item.update(taxesFee=zero, clearanceOperationFee=zero, totalPostageFee=self.price)
        else:  # taxed
            item.update(
                taxesFee=self.taxes, clearanceOperationFee=self.clearance,
                totalPostageFee=self.effective,
            )  # fmt: skip
        return item


def total_weight(lines: list[tuple[Variant, int]]) -> int:
    return sum(v.weight_g * qty for v, qty in lines)


def quotes(start: str, end: str, zip_code: str | None, weight_g: int) -> list[Quote]:
    """All logistics that serve `start`→`end` for that weight, in the route's fixed order."""
    route = ROUTES.get((start, end))
    if route is None:
        return []
    logistics, multiplier = route
    units = max(1, math.ceil(weight_g / 100))
    surcharge = REMOTE_ZIP_SURCHARGE if is_remote_zip(end, zip_code) else Decimal("0")
    result = []
    for lg in logistics:
        if lg.max_weight_g is not None and weight_g > lg.max_weight_g:
            continue
        price = money((lg.base + lg.per_100g * units) * multiplier + surcharge)
        result.append(
            Quote(lg, price, money(lg.taxes * multiplier), money(lg.clearance * multiplier))
        )
    return result


def find_quote(
    start: str, end: str, zip_code: str | None, weight_g: int, logistic_name: str
) -> Quote | None:
    for quote in quotes(start, end, zip_code, weight_g):
        if quote.logistic.name == logistic_name:
            return quote
    return None


def carrier_for(logistic_name: str | None) -> str:
    for logistics, _ in ROUTES.values():
        for lg in logistics:
            if lg.name == logistic_name:
                return lg.carrier
    return "CJPacket"


def last_mile_number(track_number: str) -> str:
    """The local carrier's own number for a parcel (CJ's sample: CJPKL… → 9261…)."""
    digits = str(int(hashlib.sha256(track_number.encode()).hexdigest(), 16))
    return "9261" + digits[:18]


def make_track_number(logistic_name: str | None, seq: int) -> str:
    """A carrier-looking, deterministic tracking number."""
    carrier = carrier_for(logistic_name)
    if carrier == "USPS":
        return f"9400{seq:018d}"
    if carrier == "UPS":
        return f"1Z{seq:016d}"
    if carrier == "DHL":
        return f"{seq:010d}"
    if carrier == "YunExpress":
        return f"YT{seq:016d}"
    return f"CJPKL{seq:010d}YQ"


def tracking_url(track_number: str) -> str:
    return f"https://www.17track.net/en/track?nums={track_number}"
