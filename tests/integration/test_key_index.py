"""The key index, the check's read path: one reused driver cursor per thread, in autocommit."""

from __future__ import annotations

import sqlite3

import pytest

from keyvend.db.unit_of_work import Database
from keyvend.services import extension

NO_SUCH_DIGEST = b"\0" * 32


def test_each_find_sees_what_was_committed_just_before(db: Database) -> None:
    # The reused cursor must not pin an old snapshot: the revocation lag is zero.
    found = db.keys.find(NO_SUCH_DIGEST, extension.APIKEY)
    assert found is not None
    assert found.module_status == extension.ACTIVE
    extension.deactivate(db, extension.APIKEY)
    found = db.keys.find(NO_SUCH_DIGEST, extension.APIKEY)
    assert found is not None
    assert found.module_status == "inactive"
    extension.activate(db, extension.APIKEY)
    found = db.keys.find(NO_SUCH_DIGEST, extension.APIKEY)
    assert found is not None
    assert found.module_status == extension.ACTIVE


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_find_holds_no_sqlite_read_snapshot_afterwards(db: Database, database_url: str) -> None:
    extension.deactivate(db, extension.APIKEY)  # something in the WAL for the reader to see
    assert db.keys.find(NO_SUCH_DIGEST, extension.APIKEY) is not None
    # A reader still inside a snapshot would make this checkpoint report busy (first column).
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as other:
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
