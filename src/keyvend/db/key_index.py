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

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.exc import DBAPIError

from keyvend.db.engine import make_engine
from keyvend.db.models import ApiKeyService, Extension, Order

# The extension's row drives the result, so one round trip also tells an inactive module apart.
_LOOKUP = (
    select(
        Extension.status,
        ApiKeyService.key_digest,
        ApiKeyService.enabled,
        ApiKeyService.config,
        Order.status,
        Order.expires_at,
    )
    .select_from(Extension)
    .outerjoin(ApiKeyService, ApiKeyService.key_digest == bindparam("digest"))
    .outerjoin(Order, Order.id == ApiKeyService.order_id)
    .where(Extension.name == bindparam("module"))
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


class KeyIndex:
    """Looks keys up by digest; safe to share between threads (one connection each)."""

    def __init__(self, engine: Engine, *, timeout: float = 5.0) -> None:
        # Its own unpooled engine: connections live as long as their thread and never
        # starve the shared pool that units of work draw from.
        url = engine.url.render_as_string(hide_password=False)
        self._engine = make_engine(url, pooled=False, timeout=timeout)
        self._timeout_ms = max(1, int(timeout * 1000))
        compiled = _LOOKUP.compile(dialect=engine.dialect)
        self._sql = compiled.string
        # SQLite takes the parameters as a tuple in statement order, PostgreSQL as a dict.
        self._arrange: Callable[[dict[str, Any]], Any] = (
            itemgetter(*compiled.positiontup) if compiled.positiontup else _as_is
        )
        self._local = threading.local()

    def find(self, digest: bytes, module: str) -> KeyRow | None:
        """The module's status and the key's row; None if the module has no status row."""
        params = self._arrange({"digest": digest, "module": module})
        try:
            row = self._execute(params)
        except Exception as exc:
            self._drop_connection()  # a broken or stale connection is never reused
            dbapi_error = self._engine.dialect.loaded_dbapi.Error
            if isinstance(exc, dbapi_error):
                # Raw cursors raise the driver's errors; callers expect SQLAlchemy's wrappers.
                raise DBAPIError.instance(self._sql, params, exc, dbapi_error) from exc
            raise
        return None if row is None else _to_key_row(row)

    def _execute(self, params: Any) -> Any:
        # One driver cursor per thread, reused. fetchall() reads the result to its end, so
        # SQLite resets the statement and holds no read snapshot between checks.
        rows = self._cursor().execute(self._sql, params).fetchall()
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


def _as_is(values: dict[str, Any]) -> dict[str, Any]:
    return values


@lru_cache(maxsize=4096)
def _decoded(text: str) -> dict[str, Any]:
    # Configs repeat (one per product, copied into each key): decode each text once.
    # Callers must treat the result as read-only.
    value: dict[str, Any] = json.loads(text)
    return value


def _to_key_row(row: Any) -> KeyRow:
    module_status, digest, enabled, config, order_status, expires_at = row
    if isinstance(config, str):
        config = _decoded(config)
    if isinstance(expires_at, str):  # SQLite keeps UTC datetimes as naive ISO text
        expires_at = datetime.fromisoformat(expires_at)
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return KeyRow(
        module_status=module_status,
        digest=bytes(digest) if digest is not None else None,
        enabled=bool(enabled),
        config=config or {},
        order_status=order_status,
        expires_at=expires_at,
    )
