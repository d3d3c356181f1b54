"""Each server process's key cache answers exactly what the database would, at once.

Every test primes the cache with a check first (and sees the row cached), then changes the
key through the API of the same process: the very next check must answer the new state,
either because the unit of work evicted the key at commit or, for time, because the cached
row carries `expires_at` and the overlap's end. Then the guards: a lookup that raced an
eviction stores nothing, and the cache answers only while a feed follows the events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from keyvend.db.key_cache import KeyCache
from keyvend.db.key_index import KeyRow
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import ModuleInactive
from keyvend.domain.event_types import fingerprint
from keyvend.services import extension, serviceapikey
from keyvend.services.key_feed import KeyFeed, latest_seq
from tests.conftest import Api, FakeClock
from tests.support.keys import issue_key

DEADLINE = 15.0  # seconds a feed may take to (re)start following; never reached when well
GONE = "API key does not exist"


def answer(api: Api, key: str) -> Any:
    """What `check` answers: True/False, or the error's message (code for an inactive module)."""
    _, body = api.call("guest/serviceapikey/check", key=key)
    if body["error"] is None:
        return body["result"]
    if body["error"]["code"] == ModuleInactive.code:
        return ModuleInactive.code
    return body["error"]["message"]


def until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds, failing after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE} s: {what}"
        time.sleep(0.005)


def prime(api: Api, db: Database, key: str, expected: Any = True) -> None:
    """Check `key` until this process caches it, once the feed has read every event so far
    (the feed evicts again what the unit of work evicted at commit)."""
    feed: KeyFeed = api.client.app.state.key_feed
    assert feed.following.wait(DEADLINE)
    newest = latest_seq(db)
    until(lambda: feed.last_seq >= newest, "the feed read every event")

    def cached() -> bool:
        assert answer(api, key) == expected
        return len(db.key_cache) == 1

    until(cached, "the key cached")


@pytest.fixture
def cached(
    api: Api, db: Database, active_order: dict[str, Any], customer: dict[str, Any]
) -> dict[str, Any]:
    """`active_order` (and its client's id), its key checked so that this process caches it."""
    prime(api, db, active_order["key"])
    return {**active_order, "client_id": customer["id"]}


CHANGES: dict[str, tuple[Callable[[Api, dict[str, Any]], Any], Any]] = {
    "suspend": (lambda api, o: api.admin("order/suspend", id=o["id"]), False),
    "cancel": (lambda api, o: api.admin("order/cancel", id=o["id"]), False),
    "disable": (
        lambda api, o: api.admin("serviceapikey/update", order_id=o["id"], valid=False),
        False,
    ),
    "reset": (lambda api, o: api.admin("serviceapikey/reset", order_id=o["id"]), GONE),
    "order delete": (lambda api, o: api.admin("order/delete", id=o["id"]), GONE),
    "client delete": (lambda api, o: api.admin("client/delete", id=o["client_id"]), GONE),
    "extension deactivation": (
        lambda api, o: api.admin("extension/deactivate", id=extension.APIKEY),
        ModuleInactive.code,
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_very_next_check_after_a_change_answers_the_new_state(
    api: Api, db: Database, cached: dict[str, Any], change: str
) -> None:
    make_change, expected = CHANGES[change]
    make_change(api, cached)
    assert answer(api, cached["key"]) == expected


def test_an_unsuspend_is_answered_by_the_very_next_check_too(
    api: Api, db: Database, cached: dict[str, Any]
) -> None:
    api.admin("order/suspend", id=cached["id"])
    assert answer(api, cached["key"]) is False
    prime(api, db, cached["key"], expected=False)  # the suspended answer is cached in turn
    api.admin("order/unsuspend", id=cached["id"])
    assert answer(api, cached["key"]) is True


def test_a_config_update_shows_in_the_very_next_get_info(
    api: Api, db: Database, cached: dict[str, Any]
) -> None:
    before = api.guest("serviceapikey/get_info", key=cached["key"])
    assert before["config"] == {"monthlyLimit": 250}
    new_config = {"custom_monthlyLimit": "9000", "custom_tier": "gold"}
    api.admin("serviceapikey/update", order_id=cached["id"], config=new_config)
    after = api.guest("serviceapikey/get_info", key=cached["key"])
    assert after == {"valid": True, "config": {"monthlyLimit": 9000, "tier": "gold"}}


def test_an_expiry_needs_no_event_the_cached_row_carries_expires_at(
    api: Api, db: Database, clock: FakeClock, cached: dict[str, Any]
) -> None:
    expires_at = api.admin("order/get", id=cached["id"])["expires_at"]
    assert expires_at is not None
    clock.advance(days=40)  # past the 1M period; nothing is recorded, nothing evicted
    assert len(db.key_cache) == 1
    assert answer(api, cached["key"]) is False


def test_a_replaced_key_stops_working_from_the_cache_when_its_overlap_ends(
    api: Api, db: Database, clock: FakeClock, cached: dict[str, Any]
) -> None:
    old_key = cached["key"]
    api.admin("serviceapikey/reset", order_id=cached["id"], overlap=60)
    assert answer(api, old_key) is True
    prime(api, db, old_key)  # the old key, cached with the overlap's end
    clock.advance(seconds=59)
    assert answer(api, old_key) is True
    clock.advance(seconds=2)
    assert len(db.key_cache) == 1
    assert answer(api, old_key) == GONE


def test_a_lookup_that_started_before_an_eviction_does_not_store_its_stale_row(
    api: Api, db: Database, cached: dict[str, Any]
) -> None:
    key = cached["key"]
    digest = db.vault.key_digest(key)
    db.key_cache.evict([fingerprint(key)])
    generation = db.key_cache.generation  # a check starts reading ...
    stale = db.keys.find(digest, extension.APIKEY)
    assert stale is not None and stale.order_status == "active"
    api.admin("order/suspend", id=cached["id"])  # ... a suspend commits and evicts ...
    db.key_cache.put(digest, fingerprint(key), stale, generation)  # ... the check ends
    assert len(db.key_cache) == 0
    assert answer(api, key) is False


def test_a_put_with_the_current_generation_is_kept_and_an_older_one_is_not() -> None:
    cache = KeyCache()
    cache.start()
    row = KeyRow("active", b"d" * 32, True, {}, "active", None)
    old = cache.generation
    cache.evict(["someone-else"])
    cache.put(b"d" * 32, "fp", row, old)
    assert len(cache) == 0
    cache.put(b"d" * 32, "fp", row, cache.generation)
    assert cache.get(b"d" * 32) == row
    cache.evict(["*"])
    assert len(cache) == 0


@pytest.fixture
def feed(db: Database) -> Iterator[KeyFeed]:
    """A key feed on `db` (no app: the test starts it), stopped afterwards."""
    key_feed = KeyFeed(db)
    yield key_feed
    key_feed.stop()


def test_the_cache_is_off_until_a_feed_follows_the_events(db: Database, feed: KeyFeed) -> None:
    key = issue_key(db)
    assert db.key_cache.live is False
    assert serviceapikey.check(db, key) is True
    assert len(db.key_cache) == 0  # nothing heard of changes yet: nothing may be kept
    feed.start()
    assert feed.following.wait(DEADLINE)
    assert db.key_cache.live is True
    assert serviceapikey.check(db, key) is True
    assert len(db.key_cache) == 1


def test_a_feed_that_loses_the_database_empties_and_stops_the_cache_until_it_follows_again(
    db: Database, feed: KeyFeed
) -> None:
    key = issue_key(db)
    feed.start()
    assert feed.following.wait(DEADLINE)
    assert serviceapikey.check(db, key) is True
    assert len(db.key_cache) == 1
    _rename_events(db, "events", "events_away")  # every read of the feed fails now
    try:
        until(lambda: not db.key_cache.live, "the cache switched off")
        assert len(db.key_cache) == 0
        assert not feed.following.is_set()
        assert serviceapikey.check(db, key) is True  # answered by the database
        assert len(db.key_cache) == 0
    finally:
        _rename_events(db, "events_away", "events")
    until(lambda: db.key_cache.live, "the cache back on once the feed follows again")
    assert serviceapikey.check(db, key) is True
    assert len(db.key_cache) == 1


def _rename_events(db: Database, old: str, new: str) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
