"""API-key checks and encryption of secrets at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr


def api_key_matches(presented: str, keys: Sequence[SecretStr]) -> bool:
    """Constant-time comparison against every configured key (no early exit)."""
    presented_bytes = presented.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(presented_bytes, key.get_secret_value().encode())
    return matched


class TokenCipher:
    """Encrypts CJ tokens before they reach the database (Fernet: AES-128-CBC + HMAC).

    `TOKEN_ENCRYPTION_KEY` may be a Fernet key or any passphrase (it is then stretched
    with SHA-256); production refuses to start without one.
    """

    def __init__(self, key: SecretStr) -> None:
        raw = key.get_secret_value()
        try:
            self._fernet = Fernet(raw.encode())
        except ValueError:
            derived = base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest())
            self._fernet = Fernet(derived)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str | None:
        """The plaintext, or None when the key has changed (the token must be fetched anew)."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            return None
