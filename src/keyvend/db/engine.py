"""Engine creation: SQLite in WAL mode with foreign keys on, or PostgreSQL."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

READ_ONLY = "keyvend_read_only"


def make_engine(url: str, *, pooled: bool = True, timeout: float = 5.0) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout.

    `pooled=False` gives an engine whose connections belong to whoever opens them (NullPool),
    for connections held for a thread's lifetime outside the shared pool. On PostgreSQL,
    `timeout` bounds connecting and waiting for a pooled connection, and TCP keepalives plus
    a TCP user timeout let a connection to a vanished server die instead of hanging.
    """
    parsed = make_url(url)
    extra: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **extra
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (BEGIN IMMEDIATE below).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    extra["connect_args"] = _postgresql_timeouts(timeout)
    if not pooled:
        return create_engine(url, **extra)
    return create_engine(
        url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_timeout=timeout, **extra
    )


def _postgresql_timeouts(timeout: float) -> dict[str, Any]:
    return {
        "connect_timeout": max(1, math.ceil(timeout)),
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(timeout)),
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": max(1000, int(timeout * 1000)),
    }


def _private_file(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) before SQLite does with the
    umask's looser modes; SQLite gives its -wal and -shm files the database file's mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A writing transaction takes the write lock up front (IMMEDIATE), so concurrent writers
    # queue on busy_timeout instead of failing with "database is locked" when a read
    # transaction tries to upgrade. Read-only work (the key check) never blocks on writers.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
