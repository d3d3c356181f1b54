"""What the server tells about a key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Validity of a key and the custom parameters of its product (`monthlyLimit`, ...)."""

    valid: bool
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


# A cached answer: the key's info, or None when the server said the key does not exist.
Answer = KeyInfo | None
