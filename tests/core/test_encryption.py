"""CJ tokens at rest: real keys, several for reading, the first for writing."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from app.core.encryption import SCRYPT_PREFIX, TokenCipher, key_weakness

OLD_PASSPHRASE = "the passphrase of last year and long enough to pass"
NEW_FERNET_KEY = Fernet.generate_key().decode()


def test_a_passphrase_is_stretched_with_scrypt_and_a_stored_salt() -> None:
    cipher = TokenCipher(SecretStr(OLD_PASSPHRASE))
    stored = cipher.encrypt("access-token")
    prefix, salt, _token = stored.split("$")
    assert prefix == SCRYPT_PREFIX
    assert len(base64.urlsafe_b64decode(salt)) == 16
    assert "access-token" not in stored
    assert TokenCipher(SecretStr(OLD_PASSPHRASE)).decrypt(stored) == "access-token"


def test_another_processs_salt_is_read() -> None:
    """Each process salts what it writes; a token salted elsewhere opens with the key."""
    script = (
        "from pydantic import SecretStr; from app.core.encryption import TokenCipher; "
        f"print(TokenCipher(SecretStr({OLD_PASSPHRASE!r})).encrypt('from-elsewhere'))"
    )
    stored = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    here = TokenCipher(SecretStr(OLD_PASSPHRASE))
    assert stored.split("$")[1] != here.encrypt("x").split("$")[1]
    assert here.decrypt(stored) == "from-elsewhere"


def test_a_fernet_key_writes_plain_fernet_tokens() -> None:
    stored = TokenCipher(SecretStr(NEW_FERNET_KEY)).encrypt("access-token")
    assert Fernet(NEW_FERNET_KEY.encode()).decrypt(stored.encode()) == b"access-token"


def test_tokens_written_under_an_old_key_are_read_after_rotation() -> None:
    old = TokenCipher(SecretStr(OLD_PASSPHRASE)).encrypt("written-last-year")
    rotated = TokenCipher(SecretStr(f"{NEW_FERNET_KEY},{OLD_PASSPHRASE}"))
    assert rotated.decrypt(old) == "written-last-year"
    # The first key writes; the old key alone no longer opens what is written now.
    fresh = rotated.encrypt("written-today")
    assert TokenCipher(SecretStr(NEW_FERNET_KEY)).decrypt(fresh) == "written-today"
    assert TokenCipher(SecretStr(OLD_PASSPHRASE)).decrypt(fresh) is None


def test_tokens_of_the_sha256_era_stay_readable() -> None:
    """Before rotation a passphrase was hashed once with SHA-256 and tokens had no prefix."""
    legacy_key = base64.urlsafe_b64encode(hashlib.sha256(OLD_PASSPHRASE.encode()).digest())
    legacy = Fernet(legacy_key).encrypt(b"from-the-old-release").decode()
    assert TokenCipher(SecretStr(OLD_PASSPHRASE)).decrypt(legacy) == "from-the-old-release"
    rotated = TokenCipher(SecretStr(f"{NEW_FERNET_KEY},{OLD_PASSPHRASE}"))
    assert rotated.decrypt(legacy) == "from-the-old-release"


@pytest.mark.parametrize(
    "stored", ["", "garbage", f"{SCRYPT_PREFIX}$", f"{SCRYPT_PREFIX}$!!$x", "scrypt1$AAAA$gAAAA"]
)
def test_what_no_key_opens_is_none(stored: str) -> None:
    assert TokenCipher(SecretStr(OLD_PASSPHRASE)).decrypt(stored) is None


def test_a_removed_key_no_longer_reads() -> None:
    old = TokenCipher(SecretStr(OLD_PASSPHRASE)).encrypt("t")
    assert TokenCipher(SecretStr(NEW_FERNET_KEY)).decrypt(old) is None


@pytest.mark.parametrize(
    ("key", "weak"),
    [
        (NEW_FERNET_KEY, False),
        (OLD_PASSPHRASE, False),
        ("dev-only-encryption-key", True),
        ("a" * 40, True),
    ],
)
def test_key_weakness(key: str, weak: bool) -> None:
    assert (key_weakness(key) is not None) is weak
