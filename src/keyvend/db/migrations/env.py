"""Alembic environment: runs against the engine handed over by keyvend.db.migrate.

On SQLite, a batch migration rebuilds a table (create a copy, move the rows, drop the old
one). With foreign keys on, that drop would cascade into every table that points at it, so
migrations run with them off, as SQLite's documentation prescribes, and a foreign-key check
must come back clean before they are turned on again.
"""

from __future__ import annotations

from alembic import context

from keyvend.db.models import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # outside any transaction, where the pragma takes effect
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows pointing at missing rows: {broken}")
        connection.commit()
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
