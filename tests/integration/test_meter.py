"""The quota meter behind verify (adapters/meter.py): one contract, two implementations.

`MemoryMeter` and `RedisMeter` (a real Redis) spend a quota and a rate limit both or neither,
a refused spend changes nothing, cost 0 only looks. The memory meter is seeded from the
database, drained by `services.usage.flush` and rebased on what every process spent; two of
them on one database overshoot a quota by at most what the other spent since its last flush
(the README's bound, pinned here). Redis unreachable: the memory fallback keeps answering.
"""

from __future__ import annotations

import fcntl
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyvend.adapters.meter import Counter, MemoryMeter, Meter, RedisMeter, Spend
from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.domain.quota import Window, quota_window
from keyvend.domain.verification import VerifyCode
from keyvend.services import serviceapikey, usage, verification
from tests.conftest import FakeClock
from tests.support.concurrency import all_at_once
from tests.support.keys import issue_key
from tests.support.live_server import free_port

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, flushed by these tests
REDIS_LOCK = Path("/tmp/keyvend-tests-redis-15.lock")
RATE = VerifyCode.RATE_LIMITED
EXCEEDED = VerifyCode.USAGE_EXCEEDED
MakeMeter = Callable[[], Meter]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """REDIS_URL, flushed, for this test alone (other xdist workers wait for the lock)."""
    with REDIS_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()
        yield REDIS_URL
        client.flushdb()
        client.close()


@pytest.fixture(params=["memory", "redis"])
def make_meter(request: pytest.FixtureRequest) -> Iterator[MakeMeter]:
    """Makes meters of one kind; redis ones share the test's flushed Redis database."""
    made: list[RedisMeter] = []

    def make() -> Meter:
        if request.param == "memory":
            return MemoryMeter()
        meter = RedisMeter(url, fallback=MemoryMeter())
        made.append(meter)
        return meter

    url = str(request.getfixturevalue("redis_url")) if request.param == "redis" else ""
    yield make
    for meter in made:
        meter.close()


def window(name: str = "m2026-01", ttl: int = 3600) -> Window:
    return Window(name, datetime(2026, 2, 1, tzinfo=UTC), ttl)


def quota(limit: int, order_id: int = 1, name: str = "m2026-01", ttl: int = 3600) -> Counter:
    return Counter(order_id, window(name, ttl), limit)


def rate(limit: int, order_id: int = 1, name: str = "r2/60:0") -> Counter:
    return Counter(order_id, window(name, 60), limit)


def used(meter: Meter, counter: Counter) -> int:
    """What `counter` has used, by a look that spends nothing."""
    return meter.spend(quota=counter, rate=None, cost=0).used


# --- the contract, on both meters -----------------------------------------------------------


def test_a_spend_spends_quota_and_rate_together(make_meter: MakeMeter) -> None:
    meter, q, r = make_meter(), quota(5), rate(2)
    assert meter.spend(quota=q, rate=r, cost=2) == Spend(None, 2)
    assert meter.spend(quota=q, rate=r, cost=1) == Spend(None, 3)
    assert meter.spend(quota=q, rate=r, cost=1) == Spend(RATE, 3)
    assert used(meter, q) == 3


def test_a_spend_refused_by_the_quota_counts_nothing_against_the_rate(
    make_meter: MakeMeter,
) -> None:
    meter, q, r = make_meter(), quota(1), rate(2)
    assert meter.spend(quota=q, rate=r, cost=1) == Spend(None, 1)
    for _ in range(5):
        assert meter.spend(quota=q, rate=r, cost=1) == Spend(EXCEEDED, 1)
    # The rate limit still has its second call: the refusals spent none of it.
    assert meter.spend(quota=None, rate=r, cost=1) == Spend(None, 0)
    assert meter.spend(quota=None, rate=r, cost=1) == Spend(RATE, 0)


def test_a_spend_refused_by_the_rate_spends_nothing_of_the_quota(make_meter: MakeMeter) -> None:
    meter, q, r = make_meter(), quota(10), rate(1)
    assert meter.spend(quota=q, rate=r, cost=3) == Spend(None, 3)
    for _ in range(5):
        assert meter.spend(quota=q, rate=r, cost=3) == Spend(RATE, 3)
    assert used(meter, q) == 3
    assert meter.spend(quota=q, rate=None, cost=7) == Spend(None, 10)


def test_the_rate_limit_is_checked_before_the_quota(make_meter: MakeMeter) -> None:
    meter, q, r = make_meter(), quota(1), rate(1)
    assert meter.spend(quota=q, rate=r, cost=1) == Spend(None, 1)
    assert meter.spend(quota=q, rate=r, cost=1) == Spend(RATE, 1)


def test_cost_zero_only_looks_and_is_never_refused(make_meter: MakeMeter) -> None:
    meter, q, r = make_meter(), quota(2), rate(1)
    assert meter.spend(quota=q, rate=r, cost=0) == Spend(None, 0)
    assert meter.spend(quota=q, rate=r, cost=2) == Spend(None, 2)
    for _ in range(3):  # quota and rate both spent: a look still answers
        assert meter.spend(quota=q, rate=r, cost=0) == Spend(None, 2)
    assert meter.spend(quota=None, rate=None, cost=0) == Spend(None, 0)


def test_a_cost_above_what_remains_is_refused_whole(make_meter: MakeMeter) -> None:
    meter, q = make_meter(), quota(5)
    assert meter.spend(quota=q, rate=None, cost=4) == Spend(None, 4)
    assert meter.spend(quota=q, rate=None, cost=2) == Spend(EXCEEDED, 4)
    assert meter.spend(quota=q, rate=None, cost=1) == Spend(None, 5)
    assert meter.spend(quota=q, rate=None, cost=1) == Spend(EXCEEDED, 5)


def test_a_quota_of_zero_refuses_every_spend(make_meter: MakeMeter) -> None:
    meter, q = make_meter(), quota(0)
    assert meter.spend(quota=q, rate=None, cost=1) == Spend(EXCEEDED, 0)
    assert meter.spend(quota=q, rate=None, cost=0) == Spend(None, 0)


def test_counters_of_other_windows_and_orders_are_apart(make_meter: MakeMeter) -> None:
    meter = make_meter()
    january, february, other = quota(1), quota(1, name="m2026-02"), quota(1, order_id=2)
    assert meter.spend(quota=january, rate=None, cost=1).refused is None
    assert meter.spend(quota=january, rate=None, cost=1).refused is EXCEEDED
    assert meter.spend(quota=february, rate=None, cost=1).refused is None
    assert meter.spend(quota=other, rate=None, cost=1).refused is None
    next_minute, other_key = rate(1, name="r1/60:1"), rate(1, order_id=2)
    assert meter.spend(quota=None, rate=rate(1), cost=1).refused is None
    assert meter.spend(quota=None, rate=rate(1), cost=1).refused is RATE
    assert meter.spend(quota=None, rate=next_minute, cost=1).refused is None
    assert meter.spend(quota=None, rate=other_key, cost=1).refused is None


def test_a_spend_without_counters_is_free(make_meter: MakeMeter) -> None:
    meter = make_meter()
    for _ in range(3):
        assert meter.spend(quota=None, rate=None, cost=5) == Spend(None, 0)


def test_fifty_concurrent_spends_of_a_quota_of_ten_let_exactly_ten_through(
    make_meter: MakeMeter,
) -> None:
    meter, q = make_meter(), quota(10)
    answers = all_at_once([lambda: meter.spend(quota=q, rate=None, cost=1)] * 50)
    assert sum(a.refused is None for a in answers) == 10
    assert sum(a.refused is EXCEEDED for a in answers) == 40
    assert sorted(a.used for a in answers if a.refused is None) == list(range(1, 11))
    assert used(meter, q) == 10


def test_fifty_concurrent_spends_of_a_rate_of_ten_let_exactly_ten_through(
    make_meter: MakeMeter,
) -> None:
    meter, q, r = make_meter(), quota(1000), rate(10)
    answers = all_at_once([lambda: meter.spend(quota=q, rate=r, cost=1)] * 50)
    assert sum(a.refused is None for a in answers) == 10
    assert used(meter, q) == 10


# --- the property ---------------------------------------------------------------------------

SPENDS = st.lists(
    st.tuples(st.integers(0, 4), st.booleans(), st.booleans()), min_size=1, max_size=40
)


class Model:
    """What a meter must answer: the rule, kept in two integers."""

    def __init__(self, quota_limit: int, rate_limit: int) -> None:
        self.quota_limit, self.rate_limit = quota_limit, rate_limit
        self.used = self.hits = 0

    def spend(self, cost: int, with_quota: bool, with_rate: bool) -> Spend:
        used = self.used if with_quota else 0
        if cost == 0:
            return Spend(None, used)
        if with_rate and self.hits >= self.rate_limit:
            return Spend(RATE, used)
        if with_quota and self.used + cost > self.quota_limit:
            return Spend(EXCEEDED, used)
        self.hits += with_rate
        if with_quota:
            self.used += cost
        return Spend(None, self.used if with_quota else 0)


def run_spends(
    meter: Meter,
    spends: list[tuple[int, bool, bool]],
    quota_limit: int,
    rate_limit: int,
) -> None:
    name = uuid.uuid4().hex  # a window of this example's own in a shared Redis
    q, r = quota(quota_limit, name=f"q{name}"), rate(rate_limit, name=f"r{name}")
    model = Model(quota_limit, rate_limit)
    for cost, with_quota, with_rate in spends:
        before = used(meter, q)
        answer = meter.spend(
            quota=q if with_quota else None, rate=r if with_rate else None, cost=cost
        )
        assert answer == model.spend(cost, with_quota, with_rate)
        assert used(meter, q) <= quota_limit
        if answer.refused is not None:
            assert used(meter, q) == before  # a refusal changes nothing
    assert used(meter, q) == model.used


@settings(max_examples=150, deadline=None)
@given(spends=SPENDS, quota_limit=st.integers(0, 12), rate_limit=st.integers(1, 8))
def test_no_sequence_of_spends_lets_a_memory_meter_exceed_its_limits(
    spends: list[tuple[int, bool, bool]], quota_limit: int, rate_limit: int
) -> None:
    run_spends(MemoryMeter(), spends, quota_limit, rate_limit)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spends=SPENDS, quota_limit=st.integers(0, 12), rate_limit=st.integers(1, 8))
def test_no_sequence_of_spends_lets_a_redis_meter_exceed_its_limits(
    redis_url: str, spends: list[tuple[int, bool, bool]], quota_limit: int, rate_limit: int
) -> None:
    meter = RedisMeter(redis_url, fallback=MemoryMeter())
    try:
        run_spends(meter, spends, quota_limit, rate_limit)
    finally:
        meter.close()


# --- the memory meter: seed, drain, rebase, give back ---------------------------------------


def test_a_memory_meter_starts_a_window_from_what_the_database_holds() -> None:
    asked: list[tuple[int, str]] = []

    def seed(order_id: int, name: str) -> int:
        asked.append((order_id, name))
        return 7

    meter, q = MemoryMeter(seed=seed), quota(10)
    assert [meter.spend(quota=q, rate=None, cost=1).used for _ in range(4)] == [8, 9, 10, 10]
    assert meter.spend(quota=q, rate=None, cost=1).refused is EXCEEDED
    assert asked == [(1, "m2026-01")]  # read once, then counted in memory
    assert meter.drain() == {(1, "m2026-01"): 3}  # only this process's spending goes back


def test_draining_hands_over_what_was_spent_since_the_last_drain() -> None:
    meter, q, other = MemoryMeter(), quota(10), quota(10, order_id=2)
    meter.spend(quota=q, rate=None, cost=2)
    meter.spend(quota=other, rate=None, cost=1)
    meter.spend(quota=q, rate=None, cost=5)
    meter.spend(quota=q, rate=None, cost=9)  # refused: nothing to hand over
    meter.spend(quota=q, rate=None, cost=0)
    assert meter.drain() == {(1, "m2026-01"): 7, (2, "m2026-01"): 1}
    assert meter.drain() == {}
    assert used(meter, q) == 7  # draining does not forget what was used


def test_rebasing_adopts_the_database_total_plus_what_is_still_pending() -> None:
    meter, q = MemoryMeter(), quota(10)
    meter.spend(quota=q, rate=None, cost=2)
    pending = meter.drain()
    meter.spend(quota=q, rate=None, cost=1)  # spent while the flush ran
    # The database holds this process's 2 and another process's 4.
    meter.rebase({key: n + 4 for key, n in pending.items()})
    assert used(meter, q) == 2 + 4 + 1
    assert meter.spend(quota=q, rate=None, cost=3) == Spend(None, 10)
    assert meter.spend(quota=q, rate=None, cost=1) == Spend(EXCEEDED, 10)


def test_rebasing_a_window_the_meter_does_not_hold_loads_it_from_the_seed_later() -> None:
    meter = MemoryMeter(seed=lambda order_id, name: 5)
    meter.rebase({(1, "m2026-01"): 9})
    assert used(meter, quota(10)) == 5


def test_a_failed_flush_gives_back_what_it_drained() -> None:
    meter, q = MemoryMeter(), quota(10)
    meter.spend(quota=q, rate=None, cost=3)
    drained = meter.drain()
    meter.spend(quota=q, rate=None, cost=1)
    meter.give_back(drained)
    assert meter.drain() == {(1, "m2026-01"): 4}
    assert used(meter, q) == 4  # giving back spends nothing twice


def test_a_memory_meter_forgets_counters_whose_time_is_over_at_a_drain() -> None:
    now = [1000.0]
    meter = MemoryMeter(seed=lambda order_id, name: 1, clock=lambda: now[0])
    q, r = quota(5, ttl=10), rate(1)
    assert meter.spend(quota=q, rate=r, cost=1) == Spend(None, 2)
    assert meter.spend(quota=None, rate=r, cost=1).refused is RATE
    now[0] += 60
    meter.drain()
    # Gone from memory: the quota is read from the database again, the rate starts afresh.
    assert meter.spend(quota=q, rate=r, cost=1) == Spend(None, 2)


def test_a_memory_meter_keeps_a_total_quota_for_ever() -> None:
    now = [1000.0]
    meter = MemoryMeter(seed=lambda order_id, name: 0, clock=lambda: now[0])
    total = quota(3, name="t", ttl=0)
    meter.spend(quota=total, rate=None, cost=3)
    now[0] += 10**9
    meter.drain()
    assert meter.spend(quota=total, rate=None, cost=1) == Spend(EXCEEDED, 3)


# --- the redis meter ------------------------------------------------------------------------


def test_redis_meters_share_one_count_and_keep_it_no_longer_than_its_window(
    redis_url: str,
) -> None:
    first = RedisMeter(redis_url, fallback=MemoryMeter())
    second = RedisMeter(redis_url, fallback=MemoryMeter())
    try:
        q, total = quota(3, ttl=120), quota(3, order_id=2, name="t", ttl=0)
        answers = [m.spend(quota=q, rate=None, cost=1) for m in (first, second, first, second)]
        assert answers == [Spend(None, 1), Spend(None, 2), Spend(None, 3), Spend(EXCEEDED, 3)]
        first.spend(quota=total, rate=None, cost=1)
        client = redis.Redis.from_url(redis_url)
        assert 0 < client.ttl("keyvend:quota:1:m2026-01") <= 120
        assert client.ttl("keyvend:quota:2:t") == -1  # a total quota never expires
        client.close()
        # Redis holds the counts: nothing to write to the database, nothing to rebase.
        assert first.drain() == {}
        first.rebase({(1, "m2026-01"): 0})
        first.give_back({(1, "m2026-01"): 5})
        assert used(second, q) == 3
    finally:
        first.close()
        second.close()


def test_a_redis_meter_falls_back_to_memory_when_redis_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fallback = MemoryMeter()
    meter = RedisMeter(f"redis://127.0.0.1:{free_port()}/0", fallback=fallback)
    q, r = quota(3), rate(2)
    with caplog.at_level(logging.WARNING, logger="keyvend.meter"):
        answers = [meter.spend(quota=q, rate=r, cost=1) for _ in range(3)]
    assert answers == [Spend(None, 1), Spend(None, 2), Spend(RATE, 2)]
    # The same contract, now counted in the fallback, which is what the flush persists.
    assert meter.spend(quota=q, rate=None, cost=2) == Spend(EXCEEDED, 2)
    assert fallback.spend(quota=q, rate=None, cost=0) == Spend(None, 2)
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1  # it waits before trying again, rather than on every verify
    meter.close()


# --- two memory meters on one database (the bound without Redis) ----------------------------


class Process:
    """One server process: its own Database (tally, memory meter), the shared database."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.db = build_database(settings, clock)

    def verify(self, key: str, times: int = 1) -> list[str]:
        return [verification.verify(self.db, key).code.value for _ in range(times)]

    def valid(self, key: str, times: int) -> int:
        return self.verify(key, times).count("VALID")

    def flush(self) -> None:
        usage.flush(self.db)


def spent(db: Database, key: str) -> int:
    """What the database holds as spent by `key` this month."""
    order_id = serviceapikey.lookup(db, key, db.clock()).order_id
    return db.keys.spent(order_id, quota_window("month", db.clock(), None).name)


@pytest.fixture
def processes(settings: Settings, db: Database, clock: FakeClock) -> Iterator[list[Process]]:
    """Two processes on the test's database (each with a memory meter)."""
    made = [Process(settings, clock), Process(settings, clock)]
    yield made
    for process in made:
        process.db.dispose()


@pytest.fixture
def metered_key(db: Database) -> str:
    """An active key with a monthly quota of 10."""
    key = issue_key(db)
    order_id = serviceapikey.lookup(db, key, db.clock()).order_id
    serviceapikey.update(db, order_id=order_id, config={"quota": 10})
    return key


def test_a_process_meeting_a_window_starts_from_what_the_others_flushed(
    processes: list[Process], metered_key: str
) -> None:
    a, b = processes
    assert a.valid(metered_key, 4) == 4
    a.flush()
    assert b.valid(metered_key, 10) == 6  # exact: b read a's 4 from the database
    b.flush()
    assert spent(b.db, metered_key) == 10


def test_two_processes_overshoot_by_at_most_what_the_other_spent_since_its_last_flush(
    processes: list[Process], metered_key: str
) -> None:
    a, b = processes
    assert a.valid(metered_key, 3) == 3
    a.flush()  # the database: 3
    assert a.valid(metered_key, 2) == 2  # not flushed yet
    # b starts from the 3 flushed; a's 2 since its last flush are what b cannot see.
    assert b.valid(metered_key, 10) == 7
    b.flush()
    a.flush()
    # 12 spent of a quota of 10: the overshoot is exactly a's 2 unflushed when b met it.
    assert spent(a.db, metered_key) == 10 + 2
    # Both flushed: b knows all but a's 2 (10), a knows all (12); neither spends more.
    assert a.verify(metered_key, 2) == ["USAGE_EXCEEDED"] * 2
    assert b.verify(metered_key, 2) == ["USAGE_EXCEEDED"] * 2


def test_a_process_that_spent_nothing_since_its_flush_still_learns_the_others_spending(
    processes: list[Process], metered_key: str
) -> None:
    a, b = processes
    assert a.valid(metered_key, 4) == 4
    a.flush()  # the database: 4
    assert b.valid(metered_key, 6) == 6  # exact: the quota of 10 is spent
    b.flush()  # the database: 10
    a.flush()  # a spent nothing since its last flush, but must learn b's 6 here
    # The bound: nothing is unflushed anywhere, so nothing more may be spent.
    assert a.verify(metered_key, 6) == ["USAGE_EXCEEDED"] * 6


def test_a_restarted_process_starts_from_every_processes_flushed_spending(
    db: Database, settings: Settings, clock: FakeClock, processes: list[Process], metered_key: str
) -> None:
    a, b = processes
    a.valid(metered_key, 3)
    b.valid(metered_key, 4)
    a.flush()
    b.flush()
    assert spent(db, metered_key) == 7
    restarted = Process(settings, clock)
    try:
        assert restarted.valid(metered_key, 5) == 3
    finally:
        restarted.db.dispose()
