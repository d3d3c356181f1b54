"""Each server process's cache of key lookups, kept correct by the event spine.

A check that finds its key here skips the database probe. An entry is dropped when a change
that can alter its answer commits: at once in the process that made the change (the unit of
work evicts on commit), and within the feed's lag in every other process (`services.key_feed`
follows the `events` table: PostgreSQL LISTEN/NOTIFY, or polling on SQLite). Time needs no
event: the cached row carries `expires_at` and the overlap's end, and every check compares
them with the clock. The cache answers only while a feed follows changes (`live`); a feed
that loses the database empties and switches it off until it has caught up again.

A lookup that races a change could put back the answer the change just dropped; every
eviction moves a generation counter, and a lookup only stores its row if the counter did not
move since it started reading.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from keyvend.db.key_index import KeyRow
from keyvend.domain.event_types import ALL_KEYS

MAX_ENTRIES = 200_000


class KeyCache:
    """Digest -> KeyRow, evicted by key fingerprint; safe to share between threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._rows: dict[bytes, KeyRow] = {}
        self._digests: dict[str, bytes] = {}  # fingerprint -> digest
        self._generation = 0
        self._max = max_entries
        self.live = False

    def get(self, digest: bytes) -> KeyRow | None:
        """The cached row of this digest, if the cache is live and holds it."""
        return self._rows.get(digest) if self.live else None

    @property
    def generation(self) -> int:
        """Read before a database lookup, handed to `put` after it."""
        return self._generation

    def put(self, digest: bytes, fingerprint: str, row: KeyRow, generation: int) -> None:
        """Keep `row`, unless a change was evicted since `generation` was read."""
        with self._lock:
            if not self.live or generation != self._generation:
                return
            if len(self._rows) >= self._max:  # bounded: start afresh rather than track age
                self._rows.clear()
                self._digests.clear()
            self._rows[digest] = row
            self._digests[fingerprint] = digest

    def evict(self, fingerprints: Iterable[str]) -> None:
        """Drop the keys of these fingerprints (["*"]: every key)."""
        with self._lock:
            self._generation += 1
            for fingerprint in fingerprints:
                if fingerprint == ALL_KEYS:
                    self._rows.clear()
                    self._digests.clear()
                    return
                digest = self._digests.pop(fingerprint, None)
                if digest is not None:
                    self._rows.pop(digest, None)

    def start(self) -> None:
        """The feed follows changes from now on: answer from the cache."""
        self.live = True

    def stop(self) -> None:
        """The feed stopped following: empty the cache and answer from the database."""
        with self._lock:
            self.live = False
            self._generation += 1
            self._rows.clear()
            self._digests.clear()

    def __len__(self) -> int:
        return len(self._rows)
