"""The request mix of the rates benchmark: what the checkouts of a store ask for.

A few hundred distinct carts (1-4 catalogue variants, quantities 1-3) shipped to tens of
destinations (US zips and Canadian postcodes, a few of them remote), with Zipf-like
popularity over (cart, destination): a few pairs are asked again and again (cart
refreshes), a long tail is asked once. Most requests name an option (Medusa asks once per
calculated option), the rest ask for every option; most are in USD, some in CAD or EUR, in
lower case as Medusa sends them. Everything comes from one seed, so every target of a run
gets the very same sequence of requests.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml

# (country, province, city, zip); 99*/967*/968* and X*/Y* are the remote ones.
DESTINATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("US", "NY", "New York", "10001"),
    ("US", "NY", "Brooklyn", "11201"),
    ("US", "CA", "Los Angeles", "90012"),
    ("US", "CA", "San Francisco", "94103"),
    ("US", "CA", "San Diego", "92101"),
    ("US", "IL", "Chicago", "60601"),
    ("US", "TX", "Houston", "77002"),
    ("US", "TX", "Austin", "78701"),
    ("US", "TX", "Dallas", "75201"),
    ("US", "AZ", "Phoenix", "85004"),
    ("US", "PA", "Philadelphia", "19107"),
    ("US", "FL", "Miami", "33130"),
    ("US", "FL", "Orlando", "32801"),
    ("US", "GA", "Atlanta", "30303"),
    ("US", "WA", "Seattle", "98101"),
    ("US", "OR", "Portland", "97204"),
    ("US", "CO", "Denver", "80202"),
    ("US", "MA", "Boston", "02108"),
    ("US", "DC", "Washington", "20001"),
    ("US", "MN", "Minneapolis", "55401"),
    ("US", "MI", "Detroit", "48226"),
    ("US", "OH", "Columbus", "43215"),
    ("US", "NC", "Charlotte", "28202"),
    ("US", "TN", "Nashville", "37203"),
    ("US", "NV", "Las Vegas", "89101"),
    ("US", "UT", "Salt Lake City", "84111"),
    ("US", "MO", "St. Louis", "63101"),
    ("US", "LA", "New Orleans", "70112"),
    ("US", "AK", "Anchorage", "99501"),
    ("US", "HI", "Honolulu", "96813"),
    ("CA", "ON", "Toronto", "M5V 2T6"),
    ("CA", "ON", "Ottawa", "K1P 1J1"),
    ("CA", "QC", "Montreal", "H2X 1Y4"),
    ("CA", "BC", "Vancouver", "V6B 1A1"),
    ("CA", "AB", "Calgary", "T2P 2M5"),
    ("CA", "AB", "Edmonton", "T5J 0N3"),
    ("CA", "MB", "Winnipeg", "R3C 0V8"),
    ("CA", "NS", "Halifax", "B3H 1W5"),
    ("CA", "NT", "Yellowknife", "X1A 2N4"),
    ("CA", "YT", "Whitehorse", "Y1A 1B2"),
)
CURRENCIES: tuple[tuple[str, float], ...] = (("usd", 0.85), ("cad", 0.10), ("eur", 0.05))
# Every default option can carry such a cart (US Standard's logistics stop at 4 kg): a store
# offers the options that fit its products, and a cart no option can ship is a 422, not a price.
MAX_CART_WEIGHT_G = 4000


@dataclass(frozen=True)
class Mix:
    seed: int = 20240601
    carts: int = 300
    zipf_exponent: float = 1.0
    share_with_option: float = 0.7
    requests: int = 100_000


Cart = tuple[tuple[str, int], ...]  # (variant reference, quantity), sorted


@dataclass(frozen=True)
class Variant:
    ref: str  # what the request names it by: its vid or its SKU
    weight_g: int


def options_by_country(options_file: Path) -> dict[str, list[str]]:
    """The option ids that serve each destination country, from the service's options file."""
    document: Mapping[str, Any] = yaml.safe_load(options_file.read_text())
    serving: dict[str, list[str]] = {}
    for option in document["options"]:
        for country in option["destinations"]:
            serving.setdefault(country, []).append(option["id"])
    return serving


def make_carts(variants: Sequence[Variant], count: int, rng: random.Random) -> list[Cart]:
    """`count` distinct carts of 1-4 distinct variants, 1-3 of each, up to MAX_CART_WEIGHT_G."""
    carts: dict[Cart, None] = {}
    while len(carts) < count:
        lines = [(v, rng.randint(1, 3)) for v in rng.sample(variants, rng.randint(1, 4))]
        if sum(v.weight_g * quantity for v, quantity in lines) <= MAX_CART_WEIGHT_G:
            carts[tuple(sorted((v.ref, quantity) for v, quantity in lines))] = None
    return list(carts)


@dataclass(frozen=True)
class Workload:
    bodies: list[bytes]  # encoded `POST /v1/rates` bodies, in the order they are sent
    pairs: int  # (cart, destination) pairs that can be drawn
    distinct_pairs: int  # of which the bodies ask about this many


def make_workload(
    variants: Sequence[Variant], item_key: str, serving: Mapping[str, Sequence[str]], mix: Mix
) -> Workload:
    """`mix.requests` requests drawn from the carts and destinations.

    `item_key` says which field of an item carries the variant's `ref`: `sku` (as Medusa
    sends) or `vid`. `serving` gives the option ids per destination country.
    """
    rng = random.Random(mix.seed)
    carts = make_carts(variants, mix.carts, rng)
    destinations = [d for d in DESTINATIONS if d[0] in serving]
    pairs = [(cart, dest) for cart in carts for dest in destinations]
    rng.shuffle(pairs)  # popularity rank independent of cart size or place
    cum_weights = list(accumulate(1 / rank**mix.zipf_exponent for rank in range(1, len(pairs) + 1)))
    codes = [code for code, _ in CURRENCIES]
    code_weights = [weight for _, weight in CURRENCIES]

    drawn = rng.choices(range(len(pairs)), cum_weights=cum_weights, k=mix.requests)
    bodies = []
    for index in drawn:
        cart, (country, province, city, zip_code) = pairs[index]
        body: dict[str, Any] = {
            "destination": {
                "country_code": country,
                "province": province,
                "city": city,
                "zip": zip_code,
            },
            "items": [{item_key: ref, "quantity": quantity} for ref, quantity in cart],
            "currency": rng.choices(codes, weights=code_weights)[0],
        }
        if rng.random() < mix.share_with_option:
            body["option_id"] = rng.choice(serving[country])
        bodies.append(json.dumps(body, separators=(",", ":")).encode())
    return Workload(bodies=bodies, pairs=len(pairs), distinct_pairs=len(set(drawn)))
