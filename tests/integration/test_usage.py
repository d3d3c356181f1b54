"""Key usage written behind (`services.usage.flush`) on real SQLite and PostgreSQL: counts by
outcome, last_used_at, failures that lose nothing, concurrent flushes, deleted orders, and
quota spending that survives a restart."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.models import KeyUsage, QuotaUsage
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import NotFound
from keyvend.domain.order_states import Action
from keyvend.schemas.account import ClientCreate
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import client, extension, order, product, serviceapikey, usage
from keyvend.services import verification as verifying
from tests.conftest import FakeClock
from tests.support.keys import key_via_service


@pytest.fixture
def product_id(db: Database) -> int:
    pid = product.prepare(db, ProductCreate(title="Starter"))
    product.update(db, pid, ProductUpdate(status="enabled"))
    return pid


def sell(db: Database, product_id: int, email: str = "jo@example.com", **config: Any) -> Any:
    """An active order for a new client; returns (order id, key)."""
    cid = client.create(db, ClientCreate(email=email, first_name="Jo")).id
    oid = order.create(db, OrderCreate(client_id=cid, product_id=product_id, activate=True))
    if config:
        serviceapikey.update(db, order_id=oid, config=config)
    return oid, key_via_service(db, oid)


def stored_counts(db: Database) -> dict[tuple[int, str, str], int]:
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(
            select(KeyUsage.order_id, KeyUsage.day, KeyUsage.outcome, KeyUsage.count)
        )
        return {(oid, day.isoformat(), outcome): n for oid, day, outcome, n in rows}


def stored_quota(db: Database) -> dict[tuple[int, str], int]:
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(select(QuotaUsage.order_id, QuotaUsage.window, QuotaUsage.used))
        return {(oid, window): used for oid, window, used in rows}


def remaining(db: Database, key: str, *, cost: int) -> int:
    """Verify `key` spending `cost`; the quota left after it."""
    quota = verifying.verify(db, key, cost=cost).quota
    assert quota is not None
    return quota.remaining


@contextmanager
def table_away(db: Database, table: str) -> Iterator[None]:
    """`table` renamed while the block runs, so any write to it fails; then put back."""
    with db.engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        with db.engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))


def test_a_flush_writes_every_check_get_info_and_verify_by_outcome_and_day(
    db: Database, product_id: int, clock: FakeClock
) -> None:
    oid, key = sell(db, product_id)
    assert serviceapikey.check(db, key) is True
    assert serviceapikey.check(db, key) is True
    assert serviceapikey.get_info(db, key)["valid"] is True
    assert verifying.verify(db, key).valid
    with pytest.raises(NotFound):
        serviceapikey.check(db, "NO-SUCH-KEY")  # no key, no order: nothing to count
    order.act(db, oid, Action.SUSPEND)
    assert serviceapikey.check(db, key) is False
    assert verifying.verify(db, key).code == "SUSPENDED"
    checked_at = clock.now
    clock.advance(hours=1)
    assert usage.flush(db) == 2  # (VALID, SUSPENDED) rows of one day
    day = checked_at.date().isoformat()
    assert stored_counts(db) == {(oid, day, "VALID"): 4, (oid, day, "SUSPENDED"): 2}
    found = usage.get_usage(db, order_id=oid)
    assert found.last_used_at == checked_at
    assert (found.total, found.outcomes) == (6, {"SUSPENDED": 2, "VALID": 4})
    assert found.daily[-1].date == checked_at.date() and found.daily[-1].total == 6
    assert usage.checks_today(db) == 6
    assert [(top.order_id, top.count) for top in usage.most_used(db)] == [(oid, 6)]


def test_flushes_add_up_across_days_and_move_last_used_at_forward(
    db: Database, product_id: int, clock: FakeClock
) -> None:
    oid, key = sell(db, product_id)
    serviceapikey.check(db, key)
    usage.flush(db)
    clock.advance(days=1)
    serviceapikey.check(db, key)
    serviceapikey.check(db, key)
    usage.flush(db)
    serviceapikey.check(db, key)
    usage.flush(db)
    assert usage.flush(db) == 0  # nothing counted since: nothing written
    found = usage.get_usage(db, order_id=oid, days=2)
    assert [(d.date, d.total) for d in found.daily] == [
        ((clock.now - timedelta(days=1)).date(), 1),
        (clock.now.date(), 3),
    ]
    assert found.last_used_at == clock.now


def test_a_failed_flush_loses_nothing_and_the_next_one_writes_it_once(
    db: Database, product_id: int, clock: FakeClock
) -> None:
    oid, key = sell(db, product_id, quota=10)
    for _ in range(3):
        assert verifying.verify(db, key, cost=2).valid
    # key_usage is written first, then quota_usage fails: the whole transaction rolls back.
    with table_away(db, "quota_usage"), pytest.raises(Exception, match="quota_usage"):
        usage.flush(db)
    assert stored_counts(db) == {}
    assert usage.get_usage(db, order_id=oid).last_used_at is None
    assert verifying.verify(db, key, cost=1).valid  # counted while the counts are held back
    assert usage.flush(db) == 2
    day = clock.now.date().isoformat()
    assert stored_counts(db) == {(oid, day, "VALID"): 4}
    assert list(stored_quota(db).values()) == [7]
    assert usage.get_usage(db, order_id=oid).last_used_at == clock.now


def test_two_processes_flushing_at_once_add_up_exactly(
    db: Database, settings: Settings, product_id: int, clock: FakeClock
) -> None:
    other = build_database(settings, clock)
    try:
        oid, key = sell(db, product_id, quota=1000)
        day = clock.now.date().isoformat()
        for round_ in range(1, 4):
            for _ in range(20):
                serviceapikey.check(db, key)
                verifying.verify(other, key)
            with ThreadPoolExecutor(max_workers=2) as pool:
                written = list(pool.map(usage.flush, [db, other]))
            assert written == [1, 2]  # db: counts only; other: counts and quota
            assert stored_counts(db) == {(oid, day, "VALID"): 40 * round_}
            assert list(stored_quota(db).values()) == [20 * round_]
    finally:
        other.dispose()


def test_last_used_at_keeps_the_later_time_whichever_process_flushes_last(
    db: Database, settings: Settings, product_id: int, clock: FakeClock
) -> None:
    other = build_database(settings, clock)
    try:
        oid, key = sell(db, product_id)
        serviceapikey.check(db, key)
        clock.advance(minutes=5)
        serviceapikey.check(other, key)
        later = clock.now
        usage.flush(other)
        usage.flush(db)  # its earlier time must not overwrite the later one
        assert usage.get_usage(db, order_id=oid).last_used_at == later
    finally:
        other.dispose()


def test_counts_of_an_order_deleted_before_the_flush_are_dropped(
    db: Database, product_id: int, clock: FakeClock
) -> None:
    kept, kept_key = sell(db, product_id, quota=5)
    gone, gone_key = sell(db, product_id, "al@example.com", quota=5)
    for key in (kept_key, gone_key):
        serviceapikey.check(db, key)
        verifying.verify(db, key)
    order.delete(db, gone)
    assert usage.flush(db) == 2  # the kept order's count and quota rows
    assert {oid for oid, _, _ in stored_counts(db)} == {kept}
    assert {oid for oid, _ in stored_quota(db)} == {kept}
    assert usage.flush(db) == 0  # the dropped counts are not given back


def test_a_flush_after_uninstalling_serviceapikey_still_writes_the_counts(
    db: Database, product_id: int, clock: FakeClock
) -> None:
    oid, key = sell(db, product_id)
    serviceapikey.check(db, key)
    extension.uninstall(db, extension.APIKEY, confirm=True)
    assert usage.flush(db) == 1
    assert stored_counts(db) == {(oid, clock.now.date().isoformat(), "VALID"): 1}
    assert usage.get_usage(db, order_id=oid).last_used_at is None


def test_a_restarted_server_continues_the_monthly_quota_from_what_was_flushed(
    db: Database, settings: Settings, product_id: int, clock: FakeClock
) -> None:
    _, key = sell(db, product_id, quota=5, quota_period="month")
    assert remaining(db, key, cost=3) == 2
    usage.flush(db)
    restarted = build_database(settings, clock)  # a new process: a fresh memory meter
    try:
        assert remaining(restarted, key, cost=1) == 1
        assert verifying.verify(restarted, key, cost=2).code == "USAGE_EXCEEDED"
        usage.flush(restarted)
        assert list(stored_quota(db).values()) == [4]
        # The first process still believes 3 were spent: it may spend the last one, and
        # learns every process's spending when it flushes its own (rebase).
        assert remaining(db, key, cost=1) == 1
        usage.flush(db)
        assert list(stored_quota(db).values()) == [5]
        assert verifying.verify(db, key, cost=1).code == "USAGE_EXCEEDED"
    finally:
        restarted.dispose()
