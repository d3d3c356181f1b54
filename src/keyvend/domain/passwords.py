"""Password hashing with argon2id."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from keyvend.domain.errors import InvalidInput

MIN_PASSWORD = 8
MAX_PASSWORD = 256
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    # Hashed on first use, not at import: an argon2 hash briefly takes 64 MiB of memory,
    # which a worker that only checks keys should never pay.
    return _hasher.hash("keyvend-dummy-password")


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2id parameters (the test suite uses cheap ones; a server never does)."""
    global _hasher
    _hasher = hasher
    _dummy_hash.cache_clear()


def check_strength(password: str) -> None:
    """Refuse passwords that are too short or absurdly long."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long", field="password"
        )


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True if the password matches; spends the same time when there is no account."""
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def random_password() -> str:
    """A generated password for accounts created without one."""
    return secrets.token_urlsafe(12)
