"""Snapshots of table contents, to prove that a call changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from keyvend.db.models import ApiKeyService, Order
from keyvend.db.unit_of_work import Database


def stored(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the orders and key tables, to prove a refused call saved nothing."""
    with db.engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by("id"))]
            for table in (Order.__table__, ApiKeyService.__table__)
        }
