"""The hot path's read: one compiled statement on a dedicated autocommit connection.

The key check is the call every customer application makes, often on every request it
serves. Going through the ORM session (connection checkout, BEGIN, result machinery) costs
several times more than the indexed probe itself, so the check reads through a raw DBAPI
connection per thread with the statement compiled once. Autocommit means no transaction is
held open between checks: every check sees the latest committed state (revocation lag zero)
and never blocks DDL such as an extension uninstall.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Engine, bindparam, or_, select
from sqlalchemy.exc import DBAPIError

from keyvend.db.engine import make_engine
from keyvend.db.models import ApiKeyService, Extension, Order, QuotaUsage

# The extension's row drives the result, so one round trip also tells an inactive module apart.
# A key replaced by a reset with overlap is still found by its previous digest (both columns
# are uniquely indexed: the databases probe the two indexes, no scan).
_LOOKUP = (
    select(
        Extension.status,
        ApiKeyService.key_digest,
        ApiKeyService.enabled,
        ApiKeyService.config,
        Order.status,
        Order.expires_at,
        ApiKeyService.order_id,
        ApiKeyService.previous_digest,
        ApiKeyService.previous_until,
    )
    .select_from(Extension)
    .outerjoin(
        ApiKeyService,
        or_(
            ApiKeyService.key_digest == bindparam("digest"),
            ApiKeyService.previous_digest == bindparam("digest"),
        ),
    )
    .outerjoin(Order, Order.id == ApiKeyService.order_id)
    .where(Extension.name == bindparam("module"))
)
# What an order's key has spent in a quota window, for a meter meeting the window first.
_SPENT = select(QuotaUsage.used).where(
    QuotaUsage.order_id == bindparam("order_id"), QuotaUsage.window == bindparam("window")
)


SQLITE_CACHE_KIB = 32_768


class KeyRow(NamedTuple):
    """What a check needs to know; `digest` is None when no key matched."""

    module_status: str
    digest: bytes | None
    enabled: bool
    config: dict[str, Any]
    order_status: str | None
    expires_at: datetime | None
    order_id: int = 0
    previous_digest: bytes | None = None  # the key replaced by a reset with overlap
    previous_until: datetime | None = None  # ... which works until then


class KeyIndex:
    """Looks keys up by digest; safe to share between threads (one connection each)."""

    def __init__(self, engine: Engine, *, timeout: float = 5.0) -> None:
        # Its own unpooled engine: connections live as long as their thread and never
        # starve the shared pool that units of work draw from.
        url = engine.url.render_as_string(hide_password=False)
        self._engine = make_engine(url, pooled=False, timeout=timeout)
        self._timeout_ms = max(1, int(timeout * 1000))
        self._sql, self._arrange = _compiled(_LOOKUP, engine)
        self._spent_sql, self._arrange_spent = _compiled(_SPENT, engine)
        self._local = threading.local()

    def find(self, digest: bytes, module: str) -> KeyRow | None:
        """The module's status and the key's row; None if the module has no status row."""
        row = self._execute(self._sql, self._arrange({"digest": digest, "module": module}))
        return None if row is None else _to_key_row(row)

    def spent(self, order_id: int, window: str) -> int:
        """What the database holds as spent by `order_id`'s key in quota `window`."""
        params = self._arrange_spent({"order_id": order_id, "window": window})
        row = self._execute(self._spent_sql, params)
        return int(row[0]) if row is not None else 0

    def _execute(self, sql: str, params: Any) -> Any:
        try:
            # One driver cursor per thread, reused. fetchall() reads the result to its end,
            # so SQLite resets the statement and holds no read snapshot between checks.
            rows = self._cursor().execute(sql, params).fetchall()
        except Exception as exc:
            self._drop_connection()  # a broken or stale connection is never reused
            dbapi_error = self._engine.dialect.loaded_dbapi.Error
            if isinstance(exc, dbapi_error):
                # Raw cursors raise the driver's errors; callers expect SQLAlchemy's wrappers.
                raise DBAPIError.instance(sql, params, exc, dbapi_error) from exc
            raise
        return rows[0] if rows else None

    def _cursor(self) -> Any:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            connection = self._engine.raw_connection()
            driver: Any = connection.driver_connection
            if self._engine.dialect.name == "postgresql":
                _tune_postgresql(driver, self._timeout_ms)
            else:
                # A page cache big enough for the key index's inner pages of millions of keys,
                # so a lookup does not go back to the file for them on every check.
                driver.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor = driver.cursor()
            self._local.connection, self._local.cursor = connection, cursor
        return cursor

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = self._local.cursor = None
        if connection is not None:
            connection.invalidate()

    def dispose(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        self._drop_connection()
        self._engine.dispose()


def _tune_postgresql(driver: Any, timeout_ms: int) -> None:
    """Autocommit (no transaction held between checks), a statement timeout (a slow server
    fails the check instead of holding it), and JSON left as text: configs repeat, and
    `_decoded` parses each distinct text once instead of once per check."""
    from psycopg.types.string import TextLoader

    driver.autocommit = True
    driver.execute(f"SET statement_timeout = {int(timeout_ms)}")
    driver.adapters.register_loader("json", TextLoader)
    driver.adapters.register_loader("jsonb", TextLoader)


def _compiled(statement: Any, engine: Engine) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """The statement's SQL for this dialect, and how to arrange its parameters: SQLite takes
    them as a tuple in statement order, PostgreSQL as a dict."""
    compiled = statement.compile(dialect=engine.dialect)
    positions = compiled.positiontup
    return compiled.string, (itemgetter(*positions) if positions else _as_is)


def _as_is(values: dict[str, Any]) -> dict[str, Any]:
    return values


@lru_cache(maxsize=4096)
def _decoded(text: str) -> dict[str, Any]:
    # Configs repeat (one per product, copied into each key): decode each text once.
    # Callers must treat the result as read-only.
    value: dict[str, Any] = json.loads(text)
    return value


def _to_key_row(row: Any) -> KeyRow:
    module_status, digest, enabled, config, status, expires_at, order_id, previous, until = row
    if isinstance(config, str):
        config = _decoded(config)
    return KeyRow(
        module_status=module_status,
        digest=bytes(digest) if digest is not None else None,
        enabled=bool(enabled),
        config=config or {},
        order_status=status,
        expires_at=_utc(expires_at),
        order_id=order_id or 0,
        previous_digest=bytes(previous) if previous is not None else None,
        previous_until=_utc(until),
    )


def _utc(value: Any) -> datetime | None:
    if isinstance(value, str):  # SQLite keeps UTC datetimes as naive ISO text
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None
