"""A bounded TTL + LRU cache that can also hand out recently expired ("stale") entries."""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

V = TypeVar("V")

Clock = Callable[[], float]
"""Seconds on a monotonic scale; `time.monotonic` unless a test injects its own."""


class Missing(enum.Enum):
    """The type of `MISS`, so that `None` stays a cacheable value."""

    MISS = enum.auto()


MISS: Literal[Missing.MISS] = Missing.MISS


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    expires: float
    keep_until: float


class TTLCache(Generic[V]):
    """At most `max_entries` values, each fresh for its own TTL, the least recently used evicted.

    An entry may be kept for a while after it expires (`keep_for`): `fresh` no longer returns
    it, `stale` still does. Safe to share between threads.
    """

    def __init__(self, *, max_entries: int, clock: Clock) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, key: str) -> V | Literal[Missing.MISS]:
        """The value of `key` if it has not expired, else `MISS`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return MISS
            now = self._clock()
            if now < entry.expires:
                self._entries.move_to_end(key)
                return entry.value
            if now >= entry.keep_until:
                del self._entries[key]
            return MISS

    def stale(self, key: str) -> V | Literal[Missing.MISS]:
        """The value of `key`, expired or not, while it is still kept; else `MISS`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return MISS
            if self._clock() >= entry.keep_until:
                del self._entries[key]
                return MISS
            self._entries.move_to_end(key)
            return entry.value

    def put(self, key: str, value: V, *, ttl: float, keep_for: float = 0.0) -> None:
        """Store `value`, fresh for `ttl` seconds and kept `keep_for` seconds longer."""
        with self._lock:
            now = self._clock()
            entry = _Entry(value, now + ttl, now + ttl + keep_for)
            if entry.keep_until <= now:
                self._entries.pop(key, None)
                return
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def discard(self, key: str) -> None:
        """Forget `key`."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
