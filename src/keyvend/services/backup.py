"""Backups of a SQLite install (database plus secret) and their restore onto a data dir.

The copy uses SQLite's online backup API in one step (`pages=-1`): it reads the database
inside one read transaction, so it is a consistent snapshot while the server keeps serving
(in WAL mode writers are not blocked and the copy does not restart). Copied in smaller steps,
a backup restarts each time another connection writes, which under steady traffic may never
finish. PostgreSQL has `pg_dump` for this (README, Operations); these functions refuse it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from keyvend.config import (
    SECRET_FILE,
    Settings,
    check_secret_length,
    load_secret,
    secret_path,
    write_draft,
)
from keyvend.db.engine import make_engine
from keyvend.db.models import ApiKeyService, SecretCheck
from keyvend.domain.errors import Conflict
from keyvend.domain.vault import KeyVault, same
from keyvend.services.secret import has_data

DATABASE_FILE = "keyvend.db"
POSTGRES = (
    "keyvend {what} handles SQLite databases; on PostgreSQL use pg_dump / pg_restore and keep "
    "the secret with the dump (README, Operations)"
)


@dataclass(frozen=True)
class Copied:
    """What a backup or restore wrote: the database, the secret file (if any), keys held."""

    database: Path
    secret: Path | None
    keys: int


def backup(settings: Settings, dest: Path) -> Copied:
    """Copy the live database and `secret.key` into a new directory `dest` (0700, files 0600)."""
    source = _sqlite_path(settings, "backup")
    if not source.exists():
        raise Conflict(f"There is no database at {source} to back up")
    if settings.secret_key is None and not secret_path(settings).exists():
        raise Conflict(f"{secret_path(settings)} is missing: a backup without it is unreadable")
    _check_pair(source, load_secret(settings), f"The secret does not match {source}")
    _new_private_dir(dest)
    target = dest / DATABASE_FILE
    _copy_database(source, target, create=True)
    secret = None
    if settings.secret_key is None:  # a secret from the environment stays out of files
        secret = dest / SECRET_FILE
        _write_private(secret, secret_path(settings).read_text().strip())
    return Copied(database=target, secret=secret, keys=_key_count(target))


def restore(settings: Settings, src: Path, *, force: bool = False) -> Copied:
    """Copy a backup's database and secret onto the data dir; a database with data needs force."""
    target = _sqlite_path(settings, "restore")
    source = src / DATABASE_FILE
    if not source.is_file():
        raise Conflict(f"{src} holds no {DATABASE_FILE}: not a keyvend backup")
    secret_text = _backup_secret(settings, src)
    _check_pair(source, secret_text.encode(), f"The secret does not match the backup {source}")
    if not force and _holds_data(target):
        raise Conflict(f"The database at {target} holds data; add --force to replace it")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _copy_database(source, target, create=not target.exists())
    secret = None
    if settings.secret_key is None:
        secret = secret_path(settings)
        _replace_secret(secret, secret_text)
    return Copied(database=target, secret=secret, keys=_key_count(target))


def _sqlite_path(settings: Settings, what: str) -> Path:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise Conflict(POSTGRES.format(what=what))
    return Path(url.database)


def _backup_secret(settings: Settings, src: Path) -> str:
    """The secret the restored database will run with: the environment's, or the backup's."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = src / SECRET_FILE
    if not path.is_file():
        raise Conflict(f"{src} holds no {SECRET_FILE}; set KEYVEND_SECRET_KEY to its secret")
    secret = path.read_text().strip()
    check_secret_length(secret, str(path), settings)
    return secret


def _check_pair(database: Path, secret: bytes, message: str) -> None:
    """Refuse a secret whose check value differs from the one the database recorded."""
    with closing(sqlite3.connect(database)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if SecretCheck.__tablename__ not in tables:
            return
        row = connection.execute(
            f"SELECT check_value FROM {SecretCheck.__tablename__} WHERE id = 1"  # noqa: S608
        ).fetchone()
    if row is not None and not same(row[0], KeyVault(secret).check_value):
        raise Conflict(message)


def _copy_database(source: Path, target: Path, *, create: bool) -> None:
    """SQLite's online backup of `source` into `target` (0600), checked for integrity."""
    if create:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    with (
        closing(sqlite3.connect(source)) as reader,
        closing(sqlite3.connect(target)) as writer,
    ):
        reader.backup(writer)  # one step: one read transaction, a consistent snapshot
        if create:  # a backup is one self-contained file, no -wal beside it
            writer.execute("PRAGMA journal_mode=DELETE")
        verdict = writer.execute("PRAGMA integrity_check").fetchone()[0]
    os.chmod(target, 0o600)
    if verdict != "ok":
        raise Conflict(f"The copy at {target} fails SQLite's integrity check: {verdict}")


def _holds_data(database: Path) -> bool:
    if not database.exists():
        return False
    engine = make_engine(f"sqlite:///{database}", pooled=False)
    try:
        return has_data(engine)
    finally:
        engine.dispose()


def _key_count(database: Path) -> int:
    with closing(sqlite3.connect(database)) as connection:
        table = ApiKeyService.__tablename__
        if not connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone():
            return 0
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def _new_private_dir(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise Conflict(f"{dest} exists and is not an empty directory")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(dest, 0o700)  # mkdir's mode passes through the umask


def _write_private(path: Path, text: str) -> None:
    os.replace(write_draft(path, text), path)


def _replace_secret(path: Path, secret: str) -> None:
    """Install `secret` as `secret.key`, keeping a different one found there as `.old`."""
    if path.exists() and path.read_text().strip() != secret:
        _write_private(path.with_name(path.name + ".old"), path.read_text())
    _write_private(path, secret)
