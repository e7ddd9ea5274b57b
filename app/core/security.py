"""API-key checks and Standard Webhooks signatures (encryption at rest: `app.core.encryption`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from pydantic import SecretStr


def api_key_matches(presented: str, keys: Sequence[SecretStr]) -> bool:
    """Constant-time comparison against every configured key (no early exit)."""
    presented_bytes = presented.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(presented_bytes, key.get_secret_value().encode())
    return matched


WEBHOOK_SECRET_PREFIX = "whsec_"


def webhook_signing_key(secret: SecretStr) -> bytes:
    """The HMAC key of a Standard Webhooks secret.

    `whsec_<base64>` (the form Standard Webhooks libraries generate and expect) is the
    base64-decoded rest; any other secret is used as its UTF-8 bytes.
    """
    value = secret.get_secret_value()
    if not value.startswith(WEBHOOK_SECRET_PREFIX):
        if not value:
            raise ValueError("the secret is empty")
        return value.encode()
    try:
        key = base64.b64decode(value.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a whsec_ secret must be base64 after the prefix") from None
    if not key:
        raise ValueError("the secret is empty")
    return key


def webhook_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`: a Standard Webhooks signature."""
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
