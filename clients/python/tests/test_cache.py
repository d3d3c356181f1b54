"""TTLCache: bounded size, TTL expiry, LRU eviction and the stale window."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from conftest import FakeClock
from keyvend_client.cache import MISS, TTLCache

MAX_ENTRIES = 4
KEYS = st.sampled_from("abcdefghij")  # more keys than room: eviction happens
SECONDS = st.floats(min_value=0, max_value=100, allow_nan=False)


def test_an_entry_is_fresh_until_its_ttl_then_a_miss(clock: FakeClock) -> None:
    cache: TTLCache[str] = TTLCache(max_entries=10, clock=clock)
    cache.put("k", "v", ttl=30)
    clock.advance(29.999)
    assert cache.fresh("k") == "v"
    clock.advance(0.001)
    assert cache.fresh("k") is MISS
    assert len(cache) == 0


def test_none_is_a_value_that_can_be_cached(clock: FakeClock) -> None:
    cache: TTLCache[None] = TTLCache(max_entries=10, clock=clock)
    cache.put("unknown", None, ttl=5)
    assert cache.fresh("unknown") is None


def test_the_least_recently_used_entry_is_evicted_first(clock: FakeClock) -> None:
    cache: TTLCache[int] = TTLCache(max_entries=3, clock=clock)
    for number, key in enumerate("abc"):
        cache.put(key, number, ttl=60)
    assert cache.fresh("a") == 0  # a is now the most recently used
    cache.put("d", 3, ttl=60)
    assert [cache.fresh(key) for key in "abcd"] == [0, MISS, 2, 3]


def test_an_expired_entry_stays_available_as_stale_for_its_keep_window(clock: FakeClock) -> None:
    cache: TTLCache[str] = TTLCache(max_entries=10, clock=clock)
    cache.put("k", "v", ttl=30, keep_for=60)
    clock.advance(89.9)
    assert cache.fresh("k") is MISS
    assert cache.stale("k") == "v"
    clock.advance(0.1)
    assert cache.stale("k") is MISS
    assert len(cache) == 0


def test_a_zero_ttl_stores_nothing_and_drops_the_previous_value(clock: FakeClock) -> None:
    cache: TTLCache[str] = TTLCache(max_entries=10, clock=clock)
    cache.put("k", "old", ttl=30)
    cache.put("k", "new", ttl=0)
    assert cache.fresh("k") is MISS and cache.stale("k") is MISS
    assert len(cache) == 0


def test_a_cache_without_room_is_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        TTLCache(max_entries=0, clock=clock)


class CacheAgainstModel(RuleBasedStateMachine):
    """Random puts, reads, discards and passing time, checked against what was written.

    Soundness: a read never returns a value that was not the last one written for that key, nor
    one past its TTL (fresh) or keep window (stale). Completeness: an entry is still there while
    fewer than MAX_ENTRIES other keys were used since it was last used. Size: never above
    MAX_ENTRIES.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.cache: TTLCache[int] = TTLCache(max_entries=MAX_ENTRIES, clock=self.clock)
        self.written: dict[str, tuple[int, float, float]] = {}  # value, expires, keep_until
        self.uses: list[str] = []

    @rule(key=KEYS, value=st.integers(), ttl=SECONDS, keep_for=SECONDS)
    def put(self, key: str, value: int, ttl: float, keep_for: float) -> None:
        now = self.clock()
        self.cache.put(key, value, ttl=ttl, keep_for=keep_for)
        if now + ttl + keep_for <= now:
            self.written.pop(key, None)
        else:
            self.written[key] = (value, now + ttl, now + ttl + keep_for)
            self.uses.append(key)

    @rule(seconds=SECONDS)
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(key=KEYS)
    def discard(self, key: str) -> None:
        self.cache.discard(key)
        self.written.pop(key, None)

    @rule(key=KEYS)
    def read_fresh(self, key: str) -> None:
        self._check(key, self.cache.fresh(key), until=1)

    @rule(key=KEYS)
    def read_stale(self, key: str) -> None:
        self._check(key, self.cache.stale(key), until=2)

    @invariant()
    def never_more_than_max_entries(self) -> None:
        assert len(self.cache) <= MAX_ENTRIES

    def _check(self, key: str, got: object, *, until: int) -> None:
        record = self.written.get(key)
        alive = record is not None and self.clock() < record[until]
        if got is MISS:
            assert not (alive and self._recently_used(key)), f"{key} lost too early"
            return
        assert record is not None and alive and got == record[0]
        self.uses.append(key)

    def _recently_used(self, key: str) -> bool:
        last = len(self.uses) - 1 - self.uses[::-1].index(key)
        return len(set(self.uses[last + 1 :]) - {key}) < MAX_ENTRIES


CacheAgainstModel.TestCase.settings = settings(max_examples=150, stateful_step_count=50)
test_cache_matches_its_model = CacheAgainstModel.TestCase
