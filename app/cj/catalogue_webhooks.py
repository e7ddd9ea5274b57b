"""CJ's PRODUCT, VARIANT and STOCK webhook messages: which products and variants they are
about. Nothing else is read from them: the service asks CJ for the stock itself (a
message's `sign` proves integrity, not that CJ sent it), so a callback is a hint to look.

- STOCK `params`: a map from vid to that variant's warehouses
  (`{vid: [{vid, areaId, areaEn, countryCode, storageNum}]}`, API_FACTS §3.6);
- VARIANT `params.vid` (and `pid` when present), PRODUCT `params.pid` (CJ's webhook page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.cj.webhooks import MalformedWebhook, WebhookEnvelope

PRODUCT = "PRODUCT"
VARIANT = "VARIANT"
STOCK = "STOCK"
CATALOGUE_TOPICS = frozenset({PRODUCT, VARIANT, STOCK})
_ID_MAX = 64


@dataclass(frozen=True)
class CatalogueHint:
    vids: frozenset[str]
    pids: frozenset[str]


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= _ID_MAX else None


def hint_of(envelope: WebhookEnvelope) -> CatalogueHint:
    """The vids and pids a catalogue message names; MalformedWebhook when it names none."""
    params = envelope.params
    vids: set[str] = set()
    pids: set[str] = set()
    topic = envelope.type.upper()
    if topic == STOCK:
        for key, rows in params.items():
            if isinstance(rows, list):
                vids.add(key)
                vids.update(r["vid"] for r in rows if isinstance(r, dict) and _id(r.get("vid")))
    else:
        pid, vid = _id(params.get("pid")), _id(params.get("vid"))
        if pid:
            pids.add(pid)
        if vid and topic == VARIANT:
            vids.add(vid)
    found = CatalogueHint(frozenset(v for v in (_id(v) for v in vids) if v), frozenset(pids))
    if not found.vids and not found.pids:
        raise MalformedWebhook(f"a {topic} message naming no product or variant")
    return found
