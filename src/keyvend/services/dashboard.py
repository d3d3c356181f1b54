"""Counts for the admin dashboard: what the shop holds at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select

from keyvend.db.models import ApiKeyService, Client, Extension, Order, Product
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.order_states import OrderStatus
from keyvend.services import extension


@dataclass(frozen=True)
class Counts:
    """Totals shown on the dashboard; `active_keys` is None while the key table is gone."""

    products: int
    enabled_products: int
    clients: int
    orders: int
    active_orders: int
    suspended_orders: int
    pending_orders: int
    active_keys: int | None


def counts(db: Database) -> Counts:
    """Products, clients, orders by status and keys that would check valid right now."""
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(
            select(Order.status, func.count(Order.id)).group_by(Order.status)
        ).all()
        by_status: dict[str, int] = {status: int(count) for status, count in rows}
        return Counts(
            products=_count(uow, select(func.count(Product.id))),
            enabled_products=_count(
                uow, select(func.count(Product.id)).where(Product.status == "enabled")
            ),
            clients=_count(uow, select(func.count(Client.id))),
            orders=sum(by_status.values()),
            active_orders=by_status.get(OrderStatus.ACTIVE.value, 0),
            suspended_orders=by_status.get(OrderStatus.SUSPENDED.value, 0),
            pending_orders=by_status.get(OrderStatus.PENDING_SETUP.value, 0),
            active_keys=_active_keys(uow),
        )


def _count(uow: UnitOfWork, query: Select[Any]) -> int:
    return int(uow.session.scalar(query) or 0)


def _active_keys(uow: UnitOfWork) -> int | None:
    """Keys whose check answers true: enabled, order active and not expired."""
    row = uow.session.get(Extension, extension.APIKEY)
    if row is None or row.status == extension.NOT_INSTALLED:
        return None  # uninstalling dropped the table
    now = uow.now()
    query = (
        select(func.count(ApiKeyService.id))
        .join(Order, Order.id == ApiKeyService.order_id)
        .where(
            ApiKeyService.enabled.is_(True),
            Order.status == OrderStatus.ACTIVE.value,
            or_(Order.expires_at.is_(None), Order.expires_at > now),
        )
    )
    return _count(uow, query)
