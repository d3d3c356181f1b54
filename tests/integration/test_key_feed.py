"""The key feed hears what other processes commit, and expiries become events exactly once.

"Another process" is another `Database` on the same database: its own engine, pool and key
cache, so the feed under test learns of its changes only through the events table (LISTEN/
NOTIFY on PostgreSQL, polling on SQLite), as a second server would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.models import Event
from keyvend.db.unit_of_work import Database
from keyvend.domain.event_types import fingerprint
from keyvend.domain.order_states import Action
from keyvend.schemas.account import ClientCreate
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import client, expiries, extension, order, product, serviceapikey
from keyvend.services.key_feed import KeyChange, KeyFeed, changes_after, latest_seq
from tests.conftest import SECRET, FakeClock
from tests.support.concurrency import all_at_once
from tests.support.keys import key_via_service

DEADLINE = 15.0  # seconds; a healthy feed delivers in milliseconds


def sell_key(db: Database, *, period: str | None = None) -> tuple[int, str]:
    """An active key of a new client: (order id, key)."""
    extension.ensure_installed(db)
    pid = product.prepare(db, ProductCreate(title="Starter"))
    product.update(db, pid, ProductUpdate(status="enabled"))
    count = latest_seq(db)
    cid = client.create(db, ClientCreate(email=f"c{count}@example.com", first_name="C")).id
    oid = order.create(db, OrderCreate(client_id=cid, product_id=pid, period=period, activate=True))
    return oid, key_via_service(db, oid)


@pytest.fixture
def other(settings: Settings, clock: FakeClock, db: Database) -> Iterator[Database]:
    """Another process's view of `db`'s database."""
    database = build_database(settings, clock)
    yield database
    database.dispose()


@pytest.fixture
def feed(db: Database) -> Iterator[KeyFeed]:
    """A key feed following `db`, started and caught up; stopped afterwards."""
    key_feed = KeyFeed(db)
    key_feed.start()
    assert key_feed.following.wait(DEADLINE)
    yield key_feed
    key_feed.stop()


def subscribed(feed: KeyFeed, *steps: Callable[[], Any]) -> list[KeyChange]:
    """Subscribe, run each step in a thread, and after each one collect the changes the feed
    delivers until one of the step's own seqs arrives (a step returns the set of seqs it
    awaits; anything else means "whatever comes next")."""

    async def run() -> list[KeyChange]:
        queue = feed.subscribe()
        delivered: list[KeyChange] = []
        try:
            for step in steps:
                awaited = await asyncio.to_thread(step)
                while True:
                    change = await asyncio.wait_for(queue.get(), DEADLINE)
                    assert change is not None, "the feed ended"
                    delivered.append(change)
                    if not isinstance(awaited, set) or change.seq in awaited:
                        break
        finally:
            feed.unsubscribe(queue)
        return delivered

    return asyncio.run(run())


def settle(feed: KeyFeed, db: Database) -> None:
    """Wait (polling) until the feed has read every event committed so far."""
    newest = latest_seq(db)
    deadline = time.monotonic() + DEADLINE
    while feed.last_seq < newest:
        assert time.monotonic() < deadline, "the feed did not read every event"
        time.sleep(0.005)


def test_a_change_committed_by_another_process_is_evicted_and_delivered(
    db: Database, other: Database, feed: KeyFeed
) -> None:
    order_id, key = sell_key(db)
    settle(feed, db)
    assert serviceapikey.check(db, key) is True
    assert len(db.key_cache) == 1

    def suspend() -> set[int]:
        order.act(other, order_id, Action.SUSPEND)
        return {latest_seq(other)}

    (change,) = subscribed(feed, suspend)
    assert change.type == "order.suspended"
    assert change.fingerprints == (fingerprint(key),)
    assert len(db.key_cache) == 0  # evicted before it was handed on
    assert serviceapikey.check(db, key) is False


def test_every_key_change_of_another_process_reaches_a_subscriber_in_order(
    db: Database, other: Database, feed: KeyFeed
) -> None:
    order_id, key = sell_key(db)
    settle(feed, db)
    steps = [
        lambda: order.act(other, order_id, Action.SUSPEND),
        lambda: order.act(other, order_id, Action.UNSUSPEND),
        lambda: serviceapikey.update(other, order_id=order_id, valid=False),
        lambda: serviceapikey.reset(other, order_id=order_id),
    ]
    changes = subscribed(feed, *steps)
    assert [c.type for c in changes] == [
        "order.suspended",
        "order.unsuspended",
        "key.disabled",
        "key.reset",
    ]
    assert all(c.fingerprints == (fingerprint(key),) for c in changes)
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)


@pytest.fixture
def pg_db(migrated_postgres_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Database]:
    """A migrated PostgreSQL database (two open write transactions need PostgreSQL)."""
    settings = Settings(data_dir=tmp_path, database_url=migrated_postgres_url, secret_key=SECRET)
    database = build_database(settings, clock)
    extension.ensure_installed(database)
    yield database
    database.dispose()


def test_an_event_committed_after_a_higher_seq_is_still_delivered(pg_db: Database) -> None:
    order_id, key = sell_key(pg_db)
    feed = KeyFeed(pg_db)
    feed.start()
    try:
        assert feed.following.wait(DEADLINE)
        with pg_db.unit_of_work() as first, pg_db.unit_of_work() as second:
            low = first.record("key.disabled", order_id=order_id)
            first.flush()
            high = second.record("key.enabled", order_id=order_id)
            second.flush()
            assert low.seq < high.seq
            delivered = subscribed(
                feed,
                lambda: (second.commit(), {high.seq})[1],  # the higher seq commits first ...
                lambda: (first.commit(), {low.seq})[1],  # ... the skipped one after it
            )
    finally:
        feed.stop()
    assert [(c.seq, c.type) for c in delivered] == [
        (high.seq, "key.enabled"),
        (low.seq, "key.disabled"),
    ]
    assert delivered[1].fingerprints == (fingerprint(key),)


def test_changes_after_replays_the_key_changes_after_a_seq_oldest_first(db: Database) -> None:
    order_id, key = sell_key(db)
    before = latest_seq(db)
    order.act(db, order_id, Action.SUSPEND)
    client.create(db, ClientCreate(email="bystander@example.com", first_name="B"))
    order.act(db, order_id, Action.UNSUSPEND)
    serviceapikey.reset(db, order_id=order_id)

    replay = changes_after(db, before)
    assert [c.type for c in replay] == ["order.suspended", "order.unsuspended", "key.reset"]
    assert all(c.fingerprints == (fingerprint(key),) for c in replay)  # client.created: no key
    assert [c.type for c in changes_after(db, replay[0].seq)] == ["order.unsuspended", "key.reset"]
    assert [c.type for c in changes_after(db, before, limit=1)] == ["order.suspended"]
    assert changes_after(db, replay[-1].seq) == []


def count_events(db: Database, type_: str) -> int:
    with db.unit_of_work(read_only=True) as uow:
        query = select(func.count()).select_from(Event).where(Event.type == type_)
        return int(uow.session.scalar(query) or 0)


EXPIRY_EVENTS = ("order.expired", "key.overlap_ended")


def test_expiries_are_announced_once_even_by_concurrent_runs_and_not_on_the_first(
    db: Database, other: Database, clock: FakeClock
) -> None:
    order_id, _ = sell_key(db, period="1M")
    serviceapikey.reset(db, order_id=order_id, overlap=60)
    clock.advance(days=400)  # both in the past before anything ever ran: not news
    assert all_at_once([lambda: expiries.announce(db), lambda: expiries.announce(other)]) == [0, 0]
    assert [count_events(db, t) for t in EXPIRY_EVENTS] == [0, 0]

    order_id, _ = sell_key(db, period="1M")
    serviceapikey.reset(db, order_id=order_id, overlap=60)
    clock.advance(days=40)
    runs = all_at_once([lambda: expiries.announce(db), lambda: expiries.announce(other)])
    assert sorted(runs) == [0, 2]
    assert [count_events(db, t) for t in EXPIRY_EVENTS] == [1, 1]
    assert expiries.announce(other) == 0


def test_an_expiry_is_announced_once_when_runs_fall_within_one_second(
    db: Database, clock: FakeClock
) -> None:
    clock.advance(seconds=0.3)  # the order (and its expiry) at a fraction of a second
    assert expiries.announce(db) == 0
    order_id, _ = sell_key(db, period="1M")
    expires_at = order.get(db, order_id).expires_at
    assert expires_at is not None
    clock.now = expires_at + timedelta(seconds=0.2)
    # Runs cover whole seconds: an expiry is announced by the first run after its second.
    assert expiries.announce(db) == 0
    clock.advance(seconds=0.5)  # the next second has begun
    assert expiries.announce(db) == 1
    clock.advance(seconds=0.4)  # another run within that second
    assert expiries.announce(db) == 0
    clock.advance(seconds=1)
    assert expiries.announce(db) == 0
    assert count_events(db, "order.expired") == 1
