"""The best share of answers any scheduler could price with the CJ requests a run had.

CJ answers `CJ_QPS` freight calls a second, so a run of T seconds can hold at most
T x CJ_QPS quotes, one per (origin, destination, zip, cart). The best any scheduler could
do, knowing the future, is to spend them on the quotes the most requests need, before
their first request: a request is priced when every quote it needs is among them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

Quote = tuple[str, str, str | None, tuple[tuple[str, int], ...]]
Quotes = frozenset[Quote]  # what one request needs


class QuotesNeeded:
    """The quotes a `POST /v1/rates` body needs, from the service's options file."""

    def __init__(self, options_file: Path) -> None:
        document: Mapping[str, Any] = yaml.safe_load(options_file.read_text())
        self._origin = {o["id"]: o["from_country"] for o in document["options"]}
        self._serving: dict[str, list[str]] = {}
        for option in document["options"]:
            if not option.get("free", False):
                for country in option["destinations"]:
                    self._serving.setdefault(country, []).append(option["id"])

    def of(self, body: bytes) -> Quotes:
        request = json.loads(body)
        country = request["destination"]["country_code"].upper()
        zip_code = "".join((request["destination"].get("zip") or "").split()).upper() or None
        lines: Counter[str] = Counter()
        for item in request["items"]:
            lines[item.get("vid") or item["sku"]] += item["quantity"]
        cart = tuple(sorted(lines.items()))
        option_id = request.get("option_id")
        options = [option_id] if option_id else self._serving.get(country, [])
        return frozenset((self._origin[o], country, zip_code, cart) for o in options)


def best_share(asked_so_far: Iterable[Quotes], level: Sequence[Quotes], quotes: int) -> float:
    """The share of `level`'s requests priced when the `quotes` most needed quotes of
    everything asked so far (this level's requests included) exist."""
    if not level:
        return 0.0
    needed: Counter[Quote] = Counter()
    for request in asked_so_far:
        needed.update(request)
    chosen = {quote for quote, _ in needed.most_common(max(quotes, 0))}
    return sum(request <= chosen for request in level) / len(level)
