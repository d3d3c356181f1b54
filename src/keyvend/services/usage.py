"""Key usage (DESIGN.md section 11): the hot path's in-memory counts, written behind and read.

A check, get_info or verify only counts in memory (`db.usage`; quota spending in `db.meter`),
so no request waits on a database write. `flush` writes both in one transaction: the server
runs it every KEYVEND_USAGE_FLUSH_INTERVAL seconds and once more when it stops. A process
that dies loses what it counted since its last flush: the checks, `last_used_at` and, with
the memory meter, the quota spent in that interval (with Redis, quotas live there).

Several processes flush into the same rows: counts are added by upserts (`count = count +
new`), never overwritten, and `last_used_at` only moves forward, so concurrent flushes add
up exactly. Rows of orders deleted since they were counted are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from keyvend.db.models import (
    ApiKeyService,
    Client,
    Extension,
    KeyUsage,
    Order,
    UtcDateTime,
    metadata,
)
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.db.usage_tally import Tally
from keyvend.domain.errors import InvalidInput, NotFound
from keyvend.schemas.usage import DayUsage, TopKey, UsagePublic
from keyvend.services import extension

log = logging.getLogger("keyvend.usage")
MAX_DAYS = 366
MAX_TOP = 100
ORDER_NOT_FOUND = "Order not found"  # as `services.order` says it, for others' orders too
_CHUNK = 500  # ids per IN list, well under SQLite's limit on bound variables
Spent = dict[tuple[int, str], int]
LastUsed = dict[int, datetime]
KEY_USAGE: Table = metadata.tables["key_usage"]
QUOTA_USAGE: Table = metadata.tables["quota_usage"]
API_KEYS: Table = metadata.tables["service_apikey"]


def flush(db: Database) -> int:
    """Write what was counted since the last flush, in one transaction; on failure give it
    all back for the next flush, log and re-raise. Returns the key_usage and quota_usage
    rows written."""
    counts, last_used = db.usage.drain()
    spent = db.meter.drain()
    # Every window the meter counts is refreshed, spent in or not: that is how a process
    # learns what the others spent (without Redis).
    held = db.meter.held()
    if not (counts or last_used or spent or held):
        return 0
    try:
        written, totals = _write(db, counts, last_used, spent, held)
    except Exception:
        db.usage.give_back(counts, last_used)
        db.meter.give_back(spent)
        log.exception(
            "usage flush failed; %d checks and %d quota counters kept for the next flush",
            sum(counts.values()),
            len(spent),
        )
        raise
    db.meter.rebase(totals)
    return written


def _write(
    db: Database, counts: Tally, last_used: LastUsed, spent: Spent, held: set[tuple[int, str]]
) -> tuple[int, Spent]:
    with db.unit_of_work() as uow:
        connection = uow.session.connection()
        ids = {key[0] for key in counts} | set(last_used) | {key[0] for key in spent}
        alive = _existing_orders(connection, ids)
        counts = {key: n for key, n in counts.items() if key[0] in alive}
        spent = {key: n for key, n in spent.items() if key[0] in alive}
        _add_counts(connection, counts)
        if _keys_table_exists(uow):
            _mark_used(connection, {oid: at for oid, at in last_used.items() if oid in alive})
        _add_spent(connection, spent, uow.now())
        totals = _totals(connection, set(spent) | held)
        uow.commit()
    return len(counts) + len(spent), totals


def _existing_orders(connection: Connection, ids: Iterable[int]) -> set[int]:
    """The ids still in `orders`, held (FOR KEY SHARE) so none is deleted until commit."""
    found: set[int] = set()
    for chunk in _chunks(sorted(ids)):
        query = select(Order.id).where(Order.id.in_(chunk))
        found.update(connection.scalars(query.with_for_update(read=True, key_share=True)))
    return found


def _upsert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_update`."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _add_counts(connection: Connection, counts: Tally) -> None:
    if not counts:
        return
    insert = _upsert(connection, KEY_USAGE)
    c = KEY_USAGE.c
    insert = insert.on_conflict_do_update(
        index_elements=[c.order_id, c.day, c.outcome],
        set_={"count": c.count + insert.excluded["count"]},
    )
    # Sorted, so that concurrent flushes lock rows in the same order (no deadlock).
    rows = [
        {"order_id": oid, "day": day, "outcome": outcome, "count": n}
        for (oid, day, outcome), n in sorted(counts.items())
    ]
    connection.execute(insert, rows)


def _keys_table_exists(uow: UnitOfWork) -> bool:
    """False once the serviceapikey extension is uninstalled (its table dropped)."""
    status = uow.session.scalar(select(Extension.status).where(Extension.name == extension.APIKEY))
    return status is not None and status != extension.NOT_INSTALLED


def _mark_used(connection: Connection, last_used: LastUsed) -> None:
    """Move each key's last_used_at forward; a later time another process wrote stays."""
    if not last_used:
        return
    at = bindparam("at", type_=UtcDateTime())
    statement = (
        update(API_KEYS)
        .where(API_KEYS.c.order_id == bindparam("oid"))
        .where(or_(API_KEYS.c.last_used_at.is_(None), API_KEYS.c.last_used_at < at))
        .values(last_used_at=at)
    )
    connection.execute(statement, [{"oid": oid, "at": t} for oid, t in sorted(last_used.items())])


def _add_spent(connection: Connection, spent: Spent, now: datetime) -> None:
    if not spent:
        return
    insert = _upsert(connection, QUOTA_USAGE)
    c = QUOTA_USAGE.c
    insert = insert.on_conflict_do_update(
        index_elements=[c.order_id, c.window],
        set_={
            "used": c.used + insert.excluded["used"],
            "updated_at": insert.excluded["updated_at"],
        },
    )
    rows = [
        {"order_id": oid, "window": window, "used": n, "updated_at": now}
        for (oid, window), n in sorted(spent.items())
    ]
    connection.execute(insert, rows)


def _totals(connection: Connection, windows: set[tuple[int, str]]) -> Spent:
    """The database's totals of these windows: every process's spending."""
    totals: Spent = {}
    c = QUOTA_USAGE.c
    for chunk in _chunks(sorted({oid for oid, _ in windows})):
        query = select(c.order_id, c.window, c.used).where(c.order_id.in_(chunk))
        for oid, window, used in connection.execute(query):
            if (oid, window) in windows:
                totals[(oid, window)] = int(used)
    return totals


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def get_usage(
    db: Database, *, order_id: int, days: int = 30, client_id: int | None = None
) -> UsagePublic:
    """An order's key usage per day over the last `days` days (1 to 366), ending today;
    a client only finds their own orders."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
    first = _today(db) - timedelta(days=days - 1)
    with db.unit_of_work(read_only=True) as uow:
        order = uow.session.get(Order, order_id)
        if order is None or (client_id is not None and order.client_id != client_id):
            raise NotFound(ORDER_NOT_FOUND)
        query = select(KeyUsage.day, KeyUsage.outcome, KeyUsage.count).where(
            KeyUsage.order_id == order_id, KeyUsage.day >= first
        )
        rows = uow.session.execute(query).all()
        last_used = _last_used(uow, order_id)
    daily = _daily(first, days, rows)
    return UsagePublic(
        order_id=order_id,
        days=days,
        last_used_at=last_used,
        total=sum(day.total for day in daily),
        outcomes=_merged(day.outcomes for day in daily),
        daily=daily,
    )


def _today(db: Database) -> date:
    return db.clock().astimezone(UTC).date()


def _last_used(uow: UnitOfWork, order_id: int) -> datetime | None:
    if not _keys_table_exists(uow):
        return None
    query = select(ApiKeyService.last_used_at).where(ApiKeyService.order_id == order_id)
    return uow.session.scalar(query)


def _daily(first: date, days: int, rows: Sequence[Row[date, str, int]]) -> list[DayUsage]:
    """Every day from `first`, oldest first, zeros where nothing was counted."""
    by_day: dict[date, dict[str, int]] = {first + timedelta(days=i): {} for i in range(days)}
    for day, outcome, count in rows:
        if day in by_day:
            by_day[day][outcome] = int(count)
    return [
        DayUsage(date=day, total=sum(outcomes.values()), outcomes=dict(sorted(outcomes.items())))
        for day, outcomes in by_day.items()
    ]


def _merged(outcomes: Iterable[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for counts in outcomes:
        for outcome, n in counts.items():
            merged[outcome] = merged.get(outcome, 0) + n
    return dict(sorted(merged.items()))


def checks_today(db: Database) -> int:
    """Checks of every key today (UTC, by the database's clock), as flushed so far."""
    query = select(func.coalesce(func.sum(KeyUsage.count), 0)).where(KeyUsage.day == _today(db))
    with db.unit_of_work(read_only=True) as uow:
        return int(uow.session.scalar(query) or 0)


def most_used(db: Database, *, limit: int = 5) -> list[TopKey]:
    """Today's most checked keys (as flushed so far), most first, with their owners."""
    if not 1 <= limit <= MAX_TOP:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_TOP}", field="limit")
    count = func.sum(KeyUsage.count).label("count")
    query = (
        select(Order.id, Order.title, Order.client_id, Client.email, count)
        .join(Order, Order.id == KeyUsage.order_id)
        .join(Client, Client.id == Order.client_id)
        .where(KeyUsage.day == _today(db))
        .group_by(Order.id, Order.title, Order.client_id, Client.email)
        .order_by(count.desc(), Order.id)
        .limit(limit)
    )
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(query).all()
    return [
        TopKey(order_id=oid, title=title, client_id=cid, client_email=email, count=int(n))
        for oid, title, cid, email, n in rows
    ]
