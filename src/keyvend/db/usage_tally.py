"""The hot path's usage counts, kept in memory and written behind (`services.usage.flush`).

Every check, get_info and verify of an existing key counts once per order, UTC day and
outcome (a verify code), and moves the key's `last_used_at`. Writing that to the database on
each call would put a write on the hot path; a dictionary increment under a lock costs well
under a microsecond. The server flushes the counts every KEYVEND_USAGE_FLUSH_INTERVAL
seconds and when it stops; a process that dies loses at most the counts since its last
flush. Usage is never what decides an answer: quotas have their own meter.
"""

from __future__ import annotations

import threading
from datetime import date, datetime

Tally = dict[tuple[int, date, str], int]


class UsageTally:
    """Counts since the last `drain`, safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Tally = {}
        self._last_used: dict[int, datetime] = {}

    def count(self, order_id: int, outcome: str, now: datetime) -> None:
        """One call of `order_id`'s key with `outcome`, at `now` (UTC)."""
        key = (order_id, now.date(), outcome)
        with self._lock:
            counts = self._counts
            counts[key] = counts.get(key, 0) + 1
            self._last_used[order_id] = now

    def drain(self) -> tuple[Tally, dict[int, datetime]]:
        """Everything counted since the last drain; the tally starts empty again."""
        with self._lock:
            counts, self._counts = self._counts, {}
            last_used, self._last_used = self._last_used, {}
        return counts, last_used

    def give_back(self, counts: Tally, last_used: dict[int, datetime]) -> None:
        """A flush that failed (the database away): keep its counts for the next one."""
        with self._lock:
            for key, amount in counts.items():
                self._counts[key] = self._counts.get(key, 0) + amount
            for order_id, at in last_used.items():
                current = self._last_used.get(order_id)
                if current is None or at > current:
                    self._last_used[order_id] = at
