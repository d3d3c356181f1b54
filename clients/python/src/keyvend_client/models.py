"""What the server tells about a key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any


def _no_params() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Validity of a key and the custom parameters of its product (`monthlyLimit`, ...)."""

    valid: bool
    params: Mapping[str, Any] = field(default_factory=_no_params)


# A cached answer: the key's info, or None when the server said the key does not exist.
Answer = KeyInfo | None


class VerifyCode(StrEnum):
    """Why a verified key does or does not work (the server's `code`)."""

    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    DISABLED = "DISABLED"
    EXPIRED = "EXPIRED"
    SUSPENDED = "SUSPENDED"
    CANCELED = "CANCELED"
    PENDING = "PENDING"
    USAGE_EXCEEDED = "USAGE_EXCEEDED"
    RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True, slots=True)
class Quota:
    """A key's quota after a verify: the limit, what is left, and when it starts again.

    `reset_at` is None for a `total` quota, which never starts again.
    """

    limit: int
    remaining: int
    reset_at: datetime | None


@dataclass(frozen=True, slots=True)
class Verification:
    """The answer of `verify`: whether the key works, why (`code`), and what it may spend.

    `code` is a `VerifyCode` for every code this library knows, else the server's string as
    sent (a newer server may add codes). `quota` is None when the key's product has no quota.
    """

    valid: bool
    code: str
    params: Mapping[str, Any] = field(default_factory=_no_params)
    expires_at: datetime | None = None
    quota: Quota | None = None


NOT_FOUND = Verification(valid=False, code=VerifyCode.NOT_FOUND)
"""What `verify` answers for a key the server does not know."""
