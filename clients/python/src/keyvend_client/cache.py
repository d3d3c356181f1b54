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
    stored: float
    expires: float
    keep_for: float
    tag: str | None

    def expiry(self, max_age: float | None) -> float:
        """When the entry stops being fresh, its age capped at `max_age` (None: no cap)."""
        return self.expires if max_age is None else min(self.expires, self.stored + max_age)


class TTLCache(Generic[V]):
    """At most `max_entries` values, each fresh for its own TTL, the least recently used evicted.

    An entry may be kept for a while after it expires (`keep_for`): `fresh` no longer returns
    it, `stale` still does. A read may cap an entry's age (`max_age`) below its TTL. An entry
    may carry a tag (the live mode's key fingerprint): `discard_tag` forgets every entry with
    that tag without scanning the others. Safe to share between threads.
    """

    def __init__(self, *, max_entries: int, clock: Clock) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._tagged: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, key: str, *, max_age: float | None = None) -> V | Literal[Missing.MISS]:
        """The value of `key` if it has not expired (nor, with `max_age`, grown older than
        that), else `MISS`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return MISS
            now = self._clock()
            expires = entry.expiry(max_age)
            if now < expires:
                self._entries.move_to_end(key)
                return entry.value
            if now >= expires + entry.keep_for:
                self._remove(key)
            return MISS

    def stale(self, key: str, *, max_age: float | None = None) -> V | Literal[Missing.MISS]:
        """The value of `key`, expired or not, while it is still kept; else `MISS`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return MISS
            if self._clock() >= entry.expiry(max_age) + entry.keep_for:
                self._remove(key)
                return MISS
            self._entries.move_to_end(key)
            return entry.value

    def put(
        self, key: str, value: V, *, ttl: float, keep_for: float = 0.0, tag: str | None = None
    ) -> None:
        """Store `value`, fresh for `ttl` seconds and kept `keep_for` seconds longer."""
        with self._lock:
            now = self._clock()
            self._remove(key)
            if now + ttl + keep_for <= now:
                return
            self._entries[key] = _Entry(value, now, now + ttl, keep_for, tag)
            if tag is not None:
                self._tagged.setdefault(tag, set()).add(key)
            while len(self._entries) > self.max_entries:
                self._remove(next(iter(self._entries)))

    def discard(self, key: str) -> None:
        """Forget `key`."""
        with self._lock:
            self._remove(key)

    def discard_tag(self, tag: str) -> None:
        """Forget every entry stored with `tag`."""
        with self._lock:
            for key in self._tagged.pop(tag, ()):
                self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._tagged.clear()

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None or entry.tag is None:
            return
        keys = self._tagged.get(entry.tag)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._tagged[entry.tag]
