"""Test databases: empty ones, and ones the Alembic migrations built once per test worker.

Running the migrations was most of a database test's setup (about 0.12 s of 0.18 s on
PostgreSQL), so a test that migrates anyway gets a database migrated ahead: on SQLite a copy of
a migrated template file, on PostgreSQL this worker's schema, emptied before each test.
"""

from __future__ import annotations

import shutil
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from keyvend.db.engine import make_engine
from keyvend.db.migrate import MIGRATIONS, upgrade
from keyvend.db.models import metadata

LOCK_TIMEOUT = "5s"  # a lock left by an earlier test's connection fails fast instead of hanging
# Enough of the catalogue to see a table, column, default, constraint or index come or go. The
# schema's relations are found through pg_depend's index, not by scanning pg_class, which the
# schemas that test runs create and drop can bloat to thousands of dead pages.
_CATALOGUE = """
    WITH own AS (
        SELECT c.oid, c.relname::text AS name, c.relkind::text AS kind
        FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
        WHERE d.refclassid = 'pg_namespace'::regclass AND d.classid = 'pg_class'::regclass
          AND d.refobjid = to_regnamespace(%(schema)s)
    ), rel AS (
        SELECT * FROM own
        UNION ALL
        SELECT c.oid, c.relname::text, c.relkind::text
        FROM own JOIN pg_index i ON i.indrelid = own.oid JOIN pg_class c ON c.oid = i.indexrelid
    )
    SELECT rel.name, rel.kind, a.attnum::int, a.attname::text,
           concat_ws(' ', format_type(a.atttypid, a.atttypmod), a.attnotnull,
                     pg_get_expr(d.adbin, d.adrelid))
    FROM rel
    LEFT JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = rel.oid AND d.adnum = a.attnum
    UNION ALL
    SELECT rel.name, 'constraint', NULL, c.conname::text, pg_get_constraintdef(c.oid)
    FROM rel JOIN pg_constraint c ON c.conrelid = rel.oid
    UNION ALL
    SELECT rel.name, 'index', NULL, NULL, pg_get_indexdef(i.indexrelid)
    FROM rel JOIN pg_index i ON i.indexrelid = rel.oid
    ORDER BY 1, 2, 3, 4, 5"""


def postgres_admin(dsn: str) -> psycopg.Connection[Any]:
    """An autocommit connection to the test server; a missing server fails the test."""
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for these tests and is unreachable: {exc}")


def schema_url(dsn: str, schema: str) -> str:
    """The SQLAlchemy URL of `schema` on the server of `dsn`."""
    url = make_url(dsn).set(
        drivername="postgresql+psycopg", query={"options": f"-csearch_path={schema}"}
    )
    return url.render_as_string(hide_password=False)


@contextmanager
def empty_schema(dsn: str) -> Iterator[str]:
    """A new, empty schema of its own, dropped afterwards; yields its URL."""
    admin = postgres_admin(dsn)
    schema = f"kv_{uuid.uuid4().hex[:12]}"
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield schema_url(dsn, schema)
    finally:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.close()


def migrate(engine: Engine) -> None:
    """Run the migrations unless the database is at the newest revision already."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != _head():
        upgrade(engine)


@cache
def _head() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _migrated(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


class WorkerSchema:
    """One migrated PostgreSQL schema for a test worker, made as new before each test.

    `fresh()` deletes every row (child tables first: on the few rows a test writes that is
    ~1 ms, where TRUNCATE takes ~35 ms) and restarts the id sequences, which leaves exactly what
    the migrations leave (they create tables and write no rows; should one ever write rows,
    every test gets a newly migrated schema). A test that changed the schema itself (an
    extension uninstall drops a table) shows in the catalogue, which is compared with the
    migrated one: then, or when an earlier test's connection still holds a lock, the worker
    moves to a newly migrated schema.
    """

    def __init__(self, dsn: str, worker: str) -> None:
        self.dsn = dsn
        self.worker = worker
        self.admin = postgres_admin(dsn)
        self.admin.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        self.schema = ""
        self.url = ""
        self._left_behind: list[str] = []
        self._build()

    def fresh(self) -> str:
        """The URL of this worker's schema, holding what the migrations leave and no rows."""
        if not self._seeded and self._catalogue() == self._migrated_catalogue:
            try:
                self._empty()
                return self.url
            except psycopg.errors.LockNotAvailable:
                self._left_behind.append(self.schema)  # dropped at the end, if it can be
                self._build()
                return self.url
        self._drop(self.schema)
        self._build()
        return self.url

    def close(self) -> None:
        """Drop the schemas and close the connection."""
        for schema in [*self._left_behind, self.schema]:
            if not self._drop(schema):
                warnings.warn(f"schema {schema} is still locked and stays behind", stacklevel=1)
        self.admin.close()

    def _build(self) -> None:
        self.schema = f"kv_{self.worker}_{uuid.uuid4().hex[:8]}"
        self.url = schema_url(self.dsn, self.schema)
        self.admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
        _migrated(self.url)
        self._migrated_catalogue = self._catalogue()
        self._seeded = self._holds_rows()
        self._emptying = self._emptying_statement()

    def _drop(self, schema: str) -> bool:
        """Drop `schema`, unless a leftover connection still holds a lock in it."""
        try:
            self.admin.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )
        except psycopg.errors.LockNotAvailable:
            return False
        return True

    def _catalogue(self) -> list[tuple[Any, ...]]:
        return self.admin.execute(_CATALOGUE, {"schema": self.schema}).fetchall()

    def _tables(self) -> set[str]:
        """The tables the migrations made, but for Alembic's own."""
        kinds = {row[0]: row[1] for row in self._migrated_catalogue}
        return {name for name, kind in kinds.items() if kind in ("r", "p")} - {"alembic_version"}

    def _holds_rows(self) -> bool:
        probes = [
            sql.SQL("EXISTS (SELECT FROM {})").format(self._name(name)) for name in self._tables()
        ]
        row = self.admin.execute(
            sql.SQL("SELECT {}").format(sql.SQL(" OR ").join(probes))
        ).fetchone()
        return bool(row and row[0])

    def _emptying_statement(self) -> sql.Composed:
        """DELETE every table, children first, and set each sequence back to its start."""
        found = {row[0]: row[1] for row in self._migrated_catalogue}
        tables = self._tables()
        ordered = [table.name for table in reversed(metadata.sorted_tables)]
        if tables == set(ordered):
            emptying = [sql.SQL("DELETE FROM {}").format(self._name(name)) for name in ordered]
        else:  # a table the models do not know: TRUNCATE works the foreign-key order out
            names = sql.SQL(", ").join(self._name(name) for name in sorted(tables))
            emptying = [sql.SQL("TRUNCATE {} CASCADE").format(names)]
        for name in sorted(name for name, kind in found.items() if kind == "S"):
            qualified = self._name(name).as_string(self.admin)
            start = self.admin.execute(
                "SELECT seqstart FROM pg_sequence WHERE seqrelid = %s::regclass", (qualified,)
            ).fetchone()
            assert start is not None, name
            emptying.append(sql.SQL("SELECT setval({}, {}, false)").format(qualified, start[0]))
        return sql.SQL("; ").join(emptying)

    def _name(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name)

    def _empty(self) -> None:
        with self.admin.transaction():
            self.admin.execute(self._emptying)


def sqlite_template(directory: Path) -> Path:
    """A SQLite file in `directory` that the migrations built; tests work on copies of it."""
    path = directory / "keyvend.db"
    _migrated(f"sqlite:///{path}")
    # Closing the last connection checkpoints the WAL into the file: the file is all there is.
    assert not path.with_name(path.name + "-wal").exists()
    return path


def copy_of(template: Path, directory: Path) -> str:
    """The URL of a copy of `template` in `directory`."""
    target = directory / template.name
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
