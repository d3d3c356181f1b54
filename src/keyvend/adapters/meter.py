"""The meter behind `verify`: spends a key's quota and counts its rate limit, atomically.

`spend` checks both counters and changes them only when neither refuses, so a refused verify
spends nothing. Two implementations, one contract (tests run both):

- `MemoryMeter` (no KEYVEND_REDIS_URL): counters in the process, under one lock. Quota
  spending is persisted by `services.usage.flush` (`drain`, then `rebase` with the totals
  the database holds), and a window the process has not met yet starts from what the
  database holds (`seed`). With one server process this is exact and survives restarts,
  except for what was spent since the last flush when the process dies. With several, each
  one sees the others' spending at its flushes: a key can overshoot its quota by what the
  other processes spent since their last flush.
- `RedisMeter`: one Lua script per verify, so every worker and host shares the counters and
  a quota is exact. If Redis is unreachable it falls back to a `MemoryMeter` (logged) and
  tries again after a pause, as the rate limiter does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from keyvend.domain.quota import Window
from keyvend.domain.verification import VerifyCode

log = logging.getLogger("keyvend.meter")
REDIS_TIMEOUT_SECONDS = 0.1
REDIS_RETRY_SECONDS = 5.0
Seed = Callable[[int, str], int]  # (order_id, window name) -> what the database says was spent


class Counter(NamedTuple):
    """One counter a verify touches: whose (order), which window, and its limit."""

    order_id: int
    window: Window
    limit: int


class Spend(NamedTuple):
    refused: VerifyCode | None  # RATE_LIMITED, USAGE_EXCEEDED, or None when spent
    used: int  # the quota used after this call (0 without a quota)


class Meter(Protocol):
    remote: bool  # its counters are across a network (a call may wait on it)

    def spend(self, *, quota: Counter | None, rate: Counter | None, cost: int) -> Spend:
        """Spend `cost` from `quota` and one call from `rate`, both or neither."""
        ...

    def drain(self) -> dict[tuple[int, str], int]:
        """Quota spent since the last drain, by (order_id, window), for the database."""
        ...

    def rebase(self, totals: dict[tuple[int, str], int]) -> None:
        """The database's totals after a flush (every process's spending)."""
        ...

    def give_back(self, pending: dict[tuple[int, str], int]) -> None:
        """A flush that failed: keep what `drain` gave for the next one."""
        ...

    def held(self) -> set[tuple[int, str]]:
        """The quota windows this meter counts itself (to `rebase` at every flush)."""
        ...


class MemoryMeter:
    """Counters of this process (see the module docstring for what that guarantees)."""

    remote = False

    def __init__(self, seed: Seed | None = None, clock: Callable[[], float] = time.time) -> None:
        self._seed = seed
        self._clock = clock
        self._lock = threading.Lock()
        self._used: dict[tuple[int, str], int] = {}
        self._pending: dict[tuple[int, str], int] = {}
        self._hits: dict[tuple[int, str], int] = {}
        self._ends: dict[tuple[int, str], float] = {}  # when each counter may be forgotten

    def spend(self, *, quota: Counter | None, rate: Counter | None, cost: int) -> Spend:
        quota_key, rate_key = _slot(quota), _slot(rate)
        if quota is not None and quota_key not in self._used:
            self._load(quota_key, quota)
        with self._lock:
            used = self._used.get(quota_key, 0) if quota is not None else 0
            if cost == 0:
                return Spend(None, used)
            if rate is not None and self._hits.get(rate_key, 0) >= rate.limit:
                return Spend(VerifyCode.RATE_LIMITED, used)
            if quota is not None and used + cost > quota.limit:
                return Spend(VerifyCode.USAGE_EXCEEDED, used)
            if rate is not None:
                self._hits[rate_key] = self._hits.get(rate_key, 0) + 1
                self._remember(rate_key, rate)
            if quota is not None:
                used += cost
                self._used[quota_key] = used
                self._pending[quota_key] = self._pending.get(quota_key, 0) + cost
            return Spend(None, used)

    def _load(self, key: tuple[int, str], quota: Counter) -> None:
        # Outside the lock: a database read must not stall every other verify.
        start = self._seed(*key) if self._seed is not None else 0
        with self._lock:
            if key not in self._used:
                self._used[key] = start + self._pending.get(key, 0)
                self._remember(key, quota)

    def _remember(self, key: tuple[int, str], counter: Counter) -> None:
        if counter.window.ttl and key not in self._ends:
            self._ends[key] = self._clock() + counter.window.ttl

    def drain(self) -> dict[tuple[int, str], int]:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._forget_ended()
        return pending

    def rebase(self, totals: dict[tuple[int, str], int]) -> None:
        with self._lock:
            for key, total in totals.items():
                if key in self._used:
                    self._used[key] = total + self._pending.get(key, 0)

    def held(self) -> set[tuple[int, str]]:
        with self._lock:
            return set(self._used)

    def give_back(self, pending: dict[tuple[int, str], int]) -> None:
        with self._lock:
            for key, amount in pending.items():
                self._pending[key] = self._pending.get(key, 0) + amount

    def _forget_ended(self) -> None:
        now = self._clock()
        for key in [key for key, end in self._ends.items() if end <= now]:
            del self._ends[key]
            self._used.pop(key, None)
            self._hits.pop(key, None)


# KEYS: the rate counter and the quota counter ("" when the verify has none).
# ARGV: rate limit, rate ttl, quota limit, quota ttl (0: keep), cost.
# Returns {0 spent | 1 rate limited | 2 quota exceeded, quota used}.
_SPEND = """
local cost = tonumber(ARGV[5])
local used = 0
if KEYS[2] ~= '' then used = tonumber(redis.call('GET', KEYS[2]) or '0') end
if cost == 0 then return {0, used} end
if KEYS[1] ~= '' and tonumber(redis.call('GET', KEYS[1]) or '0') + 1 > tonumber(ARGV[1]) then
  return {1, used}
end
if KEYS[2] ~= '' and used + cost > tonumber(ARGV[3]) then return {2, used} end
if KEYS[1] ~= '' and redis.call('INCR', KEYS[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
if KEYS[2] ~= '' then
  used = redis.call('INCRBY', KEYS[2], cost)
  if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
end
return {0, used}
"""
_REFUSALS = {1: VerifyCode.RATE_LIMITED, 2: VerifyCode.USAGE_EXCEEDED}


class RedisMeter:
    """Counters in Redis, shared by every process; memory while Redis is unreachable."""

    remote = True

    def __init__(self, url: str, fallback: Meter) -> None:
        import redis

        self._client: Any = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._script = self._client.register_script(_SPEND)
        self._fallback = fallback
        self._down_until = 0.0

    def spend(self, *, quota: Counter | None, rate: Counter | None, cost: int) -> Spend:
        if time.monotonic() < self._down_until:
            return self._fallback.spend(quota=quota, rate=rate, cost=cost)
        keys = [_key("keyrate", rate), _key("quota", quota)]
        args = [
            rate.limit if rate else 0,
            rate.window.ttl if rate else 0,
            quota.limit if quota else 0,
            quota.window.ttl if quota else 0,
            cost,
        ]
        try:
            code, used = self._script(keys=keys, args=args)
        except Exception as exc:  # never fail a verify because Redis is away
            self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
            log.warning(
                "Redis meter unreachable (%s); counting quotas in memory for %ss",
                type(exc).__name__,
                REDIS_RETRY_SECONDS,
            )
            return self._fallback.spend(quota=quota, rate=rate, cost=cost)
        return Spend(_REFUSALS.get(int(code)), int(used))

    def drain(self) -> dict[tuple[int, str], int]:
        return {}  # Redis keeps the counters; nothing to persist

    def rebase(self, totals: dict[tuple[int, str], int]) -> None:
        return None

    def give_back(self, pending: dict[tuple[int, str], int]) -> None:
        return None

    def held(self) -> set[tuple[int, str]]:
        return set()  # Redis holds the counters, not this process

    def close(self) -> None:
        self._client.close()


def _slot(counter: Counter | None) -> tuple[int, str]:
    return (counter.order_id, counter.window.name) if counter is not None else (0, "")


def _key(kind: str, counter: Counter | None) -> str:
    if counter is None:
        return ""
    return f"keyvend:{kind}:{counter.order_id}:{counter.window.name}"
