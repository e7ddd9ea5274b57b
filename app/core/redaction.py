"""A structlog processor that keeps secrets and personal data out of logs.

Keys that name a secret or a piece of personal data are masked whatever their value;
free text is scanned for e-mail addresses and phone numbers. Addresses are masked by
key (`address1`, `street`, ...) because a street address has no reliable shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from pydantic import SecretStr

MASK = "[redacted]"

_SECRET_KEY_PARTS = (
    "token",
    "secret",
    "password",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "open_id",
    "openid",
    "encryption",
)
_PERSONAL_KEYS = frozenset(
    {
        "address",
        "address1",
        "address2",
        "address_1",
        "address_2",
        "street",
        "shipping_address",
        "shippingaddress",
        "shippingaddress2",
        "shipping_address2",
        "email",
        "phone",
        "shippingphone",
        "shipping_phone",
        "name",
        "first_name",
        "last_name",
        "shippingcustomername",
        "customer_name",
        "housenumber",
        "house_number",
        "taxid",
        "tax_id",
        "sign",
        "signature",
    }
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Not inside a longer token: a UUID's digit groups ("…-4123-4567-…") are no phone number.
_PHONE = re.compile(r"(?<![\w.])(?<!\w-)\+?\d[\d\s().-]{7,}\d(?![\w.])(?!-\w)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+")
_MAX_DEPTH = 6


def _is_sensitive_key(key: str) -> bool:
    lowered = key.lower()
    if lowered in _PERSONAL_KEYS:
        return True
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def _mask_phone(match: re.Match[str]) -> str:
    """Mask what reads as a phone number; a bare run of digits is an id (CJ ids are long)."""
    candidate = match.group(0)
    digits = sum(ch.isdigit() for ch in candidate)
    looks_like_phone = 7 <= digits <= 15 and (candidate.startswith("+") or not candidate.isdigit())
    return MASK if looks_like_phone else candidate


def redact_text(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _EMAIL.sub(MASK, text)
    return _PHONE.sub(_mask_phone, text)


def redact_value(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        return MASK
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: MASK if isinstance(k, str) and _is_sensitive_key(k) else redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item, depth + 1) for item in value]
    return value


_STRUCTLOG_FIELDS = frozenset({"event", "level", "logger", "timestamp", "request_id"})


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask sensitive keys and scrub free text in every field."""
    for key in list(event_dict):
        if key in _STRUCTLOG_FIELDS and key != "event":
            continue
        if _is_sensitive_key(key):
            event_dict[key] = MASK
        else:
            event_dict[key] = redact_value(event_dict[key])
    return event_dict
