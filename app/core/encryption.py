"""Encryption of CJ tokens at rest, with keys that rotate.

`TOKEN_ENCRYPTION_KEY` is a comma-separated list of keys; the first encrypts, every one
decrypts (a Fernet `MultiFernet`), so a new key goes first and the old one stays listed
until `cj-fulfillment cj token rekey` has re-encrypted what is stored. A key is either
a Fernet key (`Fernet.generate_key()`: 32 random bytes, url-safe base64) or a passphrase,
which is stretched with scrypt and a random salt that is stored with each ciphertext
(`scrypt1$<salt>$<fernet token>`); a Fernet key writes plain Fernet tokens.

Tokens written before keys rotated (a passphrase hashed once with SHA-256, no salt) stay
readable with that passphrase; `cj token rekey` rewrites them in the current form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import SecretStr

SCRYPT_PREFIX = "scrypt1"
SALT_BYTES = 16
# scrypt cost: 128 * r * n bytes = 16 MiB and tens of milliseconds per derivation,
# done once per (passphrase, salt) in a process, as a derived key is remembered.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
# A passphrase production accepts: long enough that scrypt is not the only defence.
MIN_PASSPHRASE_CHARS = 32
MIN_PASSPHRASE_DISTINCT = 10


_PROCESS_SALT = os.urandom(SALT_BYTES)


@dataclass(frozen=True, slots=True)
class _Key:
    """One configured key: a ready Fernet (a Fernet key) or a passphrase to stretch."""

    fernet: Fernet | None
    passphrase: bytes | None


def split_keys(value: SecretStr) -> list[str]:
    return [part.strip() for part in value.get_secret_value().split(",") if part.strip()]


def _fernet_key(raw: str) -> Fernet | None:
    try:
        return Fernet(raw.encode())
    except (ValueError, binascii.Error):
        return None


def key_weakness(raw: str) -> str | None:
    """Why `raw` is too weak for production, or None (a Fernet key, or a long passphrase)."""
    if _fernet_key(raw) is not None:
        return None
    if len(raw) < MIN_PASSPHRASE_CHARS:
        return (
            f"a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters "
            "(or use a Fernet key: Fernet.generate_key())"
        )
    if len(set(raw)) < MIN_PASSPHRASE_DISTINCT:
        return f"a passphrase needs at least {MIN_PASSPHRASE_DISTINCT} different characters"
    return None


@lru_cache(maxsize=64)
def _scrypt(passphrase: bytes, salt: bytes) -> Fernet:
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase)))


def _legacy(passphrase: bytes) -> Fernet:
    """The derivation used before key rotation: one SHA-256, no salt (read-only)."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(passphrase).digest()))


class TokenCipher:
    """Encrypts with the first key, decrypts with any; see the module docstring.

    Reading a ciphertext salted by another process derives its key once (then it is
    remembered); callers on an event loop run `decrypt` in a thread.
    """

    def __init__(self, keys: SecretStr | Sequence[SecretStr]) -> None:
        if isinstance(keys, SecretStr):
            raws = split_keys(keys)
        else:
            raws = [k.get_secret_value() for k in keys]
        if not raws:
            raise ValueError("at least one encryption key is needed")
        self._keys = [
            _Key(fernet, None) if (fernet := _fernet_key(raw)) else _Key(None, raw.encode())
            for raw in raws
        ]
        # What this process writes uses its salt: one scrypt derivation per process, made
        # here at start-up rather than in the first request that stores a token.
        first = self._keys[0]
        salt = _PROCESS_SALT
        self._writer = first.fernet or _scrypt(first.passphrase or b"", salt)
        self._prefix = (
            "" if first.fernet else f"{SCRYPT_PREFIX}${base64.urlsafe_b64encode(salt).decode()}$"
        )

    def encrypt(self, plaintext: str) -> str:
        return self._prefix + self._writer.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str | None:
        """The plaintext, or None when no configured key opens it (fetch the token anew)."""
        try:
            return self._reader(ciphertext).decrypt(self._token(ciphertext)).decode()
        except (InvalidToken, ValueError, binascii.Error):
            return None

    def _reader(self, ciphertext: str) -> MultiFernet:
        if ciphertext.startswith(SCRYPT_PREFIX + "$"):
            salt = self._salt_of(ciphertext)
            fernets = [
                k.fernet if k.fernet is not None else _scrypt(k.passphrase or b"", salt)
                for k in self._keys
            ]
        else:
            fernets = [
                k.fernet if k.fernet is not None else _legacy(k.passphrase or b"")
                for k in self._keys
            ]
        return MultiFernet(fernets)

    @staticmethod
    def _salt_of(ciphertext: str) -> bytes:
        parts = ciphertext.split("$", 2)
        if len(parts) != 3:
            raise ValueError("not a scrypt ciphertext")
        salt = base64.urlsafe_b64decode(parts[1].encode())
        if len(salt) != SALT_BYTES:
            raise ValueError("wrong salt length")
        return salt

    @staticmethod
    def _token(ciphertext: str) -> bytes:
        if ciphertext.startswith(SCRYPT_PREFIX + "$"):
            return ciphertext.split("$", 2)[2].encode()
        return ciphertext.encode()
