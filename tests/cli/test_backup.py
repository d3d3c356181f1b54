"""`keyvend backup` and `keyvend restore`: a consistent copy while writing, and a restore
that serves every key again. SQLite only; PostgreSQL is refused with a pointer to pg_dump."""

from __future__ import annotations

import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from keyvend.db.engine import make_engine
from tests.conftest import SECRET
from tests.support.install import (
    Install,
    assert_everything_works,
    migrated_and_filled,
)


def sqlite_install(data_dir: Path, secret: str | None = None) -> Install:
    return Install(data_dir, f"sqlite:///{data_dir / 'keyvend.db'}", secret)


@pytest.fixture(autouse=True)
def no_secret_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYVEND_SECRET_KEY", raising=False)


@pytest.fixture
def source(tmp_path: Path) -> Install:
    return sqlite_install(tmp_path / "data")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def rows(database: Path, table: str) -> set[int]:
    with closing(sqlite3.connect(database)) as connection:
        return {row[0] for row in connection.execute(f"SELECT id FROM {table}")}  # noqa: S608


def integrity(database: Path) -> str:
    with closing(sqlite3.connect(database)) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


class Writer(threading.Thread):
    """Inserts clients, one transaction each, until stopped; remembers what it committed."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.committed: list[int] = []
        self.warmed_up = threading.Event()
        self.stop = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.committed.append(self._insert(len(self.committed)))
                if len(self.committed) == 50:
                    self.warmed_up.set()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.failure = exc
            self.warmed_up.set()
        finally:
            self.engine.dispose()

    def _insert(self, n: int) -> int:
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    text(
                        "INSERT INTO clients (email, first_name, last_name, status, "
                        "password_hash, api_token_digest, created_at, updated_at) VALUES "
                        "(:email, 'W', '', 'active', 'x', :digest, :now, :now) RETURNING id"
                    ),
                    {"email": f"w{n}@example.com", "digest": f"w{n}", "now": "2026-01-01"},
                ).scalar_one()
            )


@contextmanager
def writing(url: str) -> Iterator[Writer]:
    writer = Writer(url)
    writer.start()
    try:
        assert writer.warmed_up.wait(timeout=60)
        yield writer
    finally:
        writer.stop.set()
        writer.join(timeout=60)
    assert writer.failure is None, writer.failure


def test_a_backup_taken_while_a_writer_writes_is_whole_and_holds_every_earlier_row(
    source: Install, tmp_path: Path
) -> None:
    migrated_and_filled(source)
    dest = tmp_path / "backup"
    with writing(source.database_url) as writer:
        committed_before = set(writer.committed)
        done = source.ok("backup", str(dest))
        committed_after_backup = len(writer.committed)
    assert done["keys"] == 3
    copy = dest / "keyvend.db"
    assert integrity(copy) == "ok"
    backed_up = rows(copy, "clients")
    assert committed_before <= backed_up
    assert len(backed_up) <= committed_after_backup + 1  # + the populated client, no phantom
    assert not (dest / "keyvend.db-wal").exists()  # one self-contained file


def test_a_backup_is_a_private_directory_and_a_non_empty_destination_is_refused(
    source: Install, tmp_path: Path
) -> None:
    migrated_and_filled(source)
    dest = tmp_path / "backups" / "today"
    source.ok("backup", str(dest))
    assert mode(dest) == 0o700
    assert sorted(p.name for p in dest.iterdir()) == ["keyvend.db", "secret.key"]
    assert mode(dest / "keyvend.db") == mode(dest / "secret.key") == 0o600
    assert (dest / "secret.key").read_text() == source.secret_file.read_text()
    again = source.run("backup", str(dest))
    assert again.exit_code == 1
    assert f"{dest} exists and is not an empty directory" in again.stderr


def test_a_restore_onto_a_fresh_data_dir_serves_every_key(source: Install, tmp_path: Path) -> None:
    contents = migrated_and_filled(source)
    source.ok("backup", str(tmp_path / "backup"))
    target = sqlite_install(tmp_path / "new-machine" / "data")
    done = target.ok("restore", str(tmp_path / "backup"))
    assert done["keys"] == 3
    assert mode(target.data_dir) == 0o700
    assert mode(target.data_dir / "keyvend.db") == mode(target.secret_file) == 0o600
    assert target.secret_file.read_text() == source.secret_file.read_text()
    assert target.run("migrate").exit_code == 0  # what `keyvend serve` does first
    assert_everything_works(target, contents)


def test_a_restore_refuses_a_database_with_data_unless_forced(
    source: Install, tmp_path: Path
) -> None:
    contents = migrated_and_filled(source)
    source.ok("backup", str(tmp_path / "backup"))
    target = sqlite_install(tmp_path / "other" / "data")
    migrated_and_filled(target)  # another install, with a secret of its own
    own_secret = target.secret_file.read_text()
    refused = target.run("restore", str(tmp_path / "backup"))
    assert refused.exit_code == 1
    assert "holds data; add --force to replace it" in refused.stderr
    assert target.secret_file.read_text() == own_secret
    target.ok("restore", str(tmp_path / "backup"), "--force")
    assert (target.data_dir / "secret.key.old").read_text() == own_secret
    assert_everything_works(target, contents)


def test_with_keyvend_secret_key_the_secret_is_not_copied_and_restore_needs_the_same(
    tmp_path: Path,
) -> None:
    source = sqlite_install(tmp_path / "data", SECRET)
    contents = migrated_and_filled(source)
    source.ok("backup", str(tmp_path / "backup"))
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == ["keyvend.db"]
    wrong = sqlite_install(tmp_path / "new" / "data", "not-the-secret-" + "q" * 40)
    refused = wrong.run("restore", str(tmp_path / "backup"))
    assert refused.exit_code == 1 and "The secret does not match the backup" in refused.stderr
    target = sqlite_install(tmp_path / "new" / "data", SECRET)
    target.ok("restore", str(tmp_path / "backup"))
    assert not target.secret_file.exists()
    assert_everything_works(target, contents)


def test_backup_and_restore_refuse_postgresql_and_point_to_pg_dump(
    postgres_url: str, tmp_path: Path
) -> None:
    install = Install(tmp_path / "data", postgres_url, SECRET)
    for args in (("backup", str(tmp_path / "b")), ("restore", str(tmp_path))):
        result = install.run(*args)
        assert result.exit_code == 1
        assert "on PostgreSQL use pg_dump" in result.stderr
    assert not (tmp_path / "b").exists()
