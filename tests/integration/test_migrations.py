"""The Alembic migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, insert, inspect, text
from sqlalchemy.exc import IntegrityError

from keyvend.db.engine import READ_ONLY, make_engine
from keyvend.db.migrate import alembic_config, upgrade
from keyvend.db.models import Client, Order, metadata
from keyvend.db.unit_of_work import Database
from keyvend.services.extension import APIKEY, activate, uninstall

MODEL_TABLES = set(metadata.tables)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database (a new SQLite file or a new PostgreSQL schema)."""
    made = make_engine(database_url)
    yield made
    made.dispose()


def schema_diff(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_the_database_starts_empty(engine: Engine) -> None:
    assert table_names(engine) == set()
    assert schema_diff(engine) != []  # the comparison sees missing tables


def test_upgrade_on_an_empty_database_gives_exactly_the_models_schema(engine: Engine) -> None:
    upgrade(engine)
    assert table_names(engine) == MODEL_TABLES
    assert schema_diff(engine) == []


def test_upgrade_stamps_the_newest_revision_and_a_second_upgrade_changes_nothing(
    engine: Engine,
) -> None:
    upgrade(engine)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    upgrade(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
    assert schema_diff(engine) == []


def test_downgrade_to_base_drops_every_table_and_upgrade_rebuilds_them(engine: Engine) -> None:
    upgrade(engine)
    command.downgrade(alembic_config(engine), "base")
    assert table_names(engine) == set()
    upgrade(engine)
    assert schema_diff(engine) == []


def test_uninstalling_and_reactivating_the_apikey_extension_restores_the_same_schema(
    db: Database,
) -> None:
    uninstall(db, APIKEY, confirm=True)
    assert "service_apikey" not in table_names(db.engine)
    activate(db, APIKEY)
    assert schema_diff(db.engine) == []


# -- naming convention --------------------------------------------------------------------------


def convention_names(connection: Connection, table: str) -> dict[str, str]:
    """Every constraint and index of a table in the database: actual name -> expected name."""
    inspector = inspect(connection)
    names: dict[str, str] = {}
    pk = inspector.get_pk_constraint(table)
    names[str(pk["name"])] = f"pk_{table}"
    for unique in inspector.get_unique_constraints(table):
        names[str(unique["name"])] = f"uq_{table}_{'_'.join(unique['column_names'])}"
    for fk in inspector.get_foreign_keys(table):
        names[str(fk["name"])] = f"fk_{table}_{fk['constrained_columns'][0]}_{fk['referred_table']}"
    for check in inspector.get_check_constraints(table):
        names[str(check["name"])] = f"ck_{table}_{str(check['name']).split(table + '_', 1)[-1]}"
    for index in inspector.get_indexes(table):
        if index.get("duplicates_constraint"):  # PostgreSQL's index behind a unique constraint
            continue
        names[str(index["name"])] = f"ix_{table}_{'_'.join(map(str, index['column_names']))}"
    return names


def test_every_constraint_and_index_is_named_by_the_convention(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        for table in sorted(MODEL_TABLES):
            names = convention_names(connection, table)
            assert names, table
            assert {actual: actual for actual in names} == names, table


def test_the_database_holds_the_constraint_names_the_models_declare(engine: Engine) -> None:
    upgrade(engine)
    declared: set[str] = set()
    for table in metadata.tables.values():
        declared |= {str(c.name) for c in table.constraints}
        declared |= {str(i.name) for i in table.indexes}
    found: set[str] = set()
    with engine.connect() as connection:
        for table_name in MODEL_TABLES:
            found |= set(convention_names(connection, table_name))
    assert found == declared
    assert {"pk_orders", "fk_orders_client_id_clients", "uq_service_apikey_key_digest"} <= found


# -- SQLite runs in WAL mode with foreign keys ------------------------------------------------


def test_sqlite_runs_with_journal_mode_wal_and_foreign_keys_on(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_every_pooled_sqlite_connection_gets_the_pragmas(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    readers = engine.execution_options(**{READ_ONLY: True})  # two writers would queue
    try:
        with readers.connect() as first, readers.connect() as second:
            assert first.connection.dbapi_connection is not second.connection.dbapi_connection
            for connection in (first, second):
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_a_row_pointing_at_a_missing_row_is_refused(engine: Engine) -> None:
    upgrade(engine)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    order = insert(Order).values(
        client_id=999,
        title="t",
        type="apikey",
        status="active",
        quantity=1,
        price=0,
        config={},
        created_at=now,
        updated_at=now,
    )
    with engine.connect() as connection, pytest.raises(IntegrityError):
        connection.execute(order)


def test_deleting_a_client_cascades_to_its_orders(engine: Engine) -> None:
    upgrade(engine)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        client_id = connection.scalar(
            insert(Client)
            .values(
                email="a@example.com",
                first_name="A",
                last_name="",
                status="active",
                password_hash="x",
                api_token_digest="d",
                created_at=now,
                updated_at=now,
            )
            .returning(Client.id)
        )
        connection.execute(
            insert(Order).values(
                client_id=client_id,
                title="t",
                type="apikey",
                status="active",
                quantity=1,
                price=0,
                config={},
                created_at=now,
                updated_at=now,
            )
        )
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM clients"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM orders")).scalar() == 0
