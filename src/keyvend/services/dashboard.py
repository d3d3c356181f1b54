"""Counts for the admin dashboard: what the shop holds and what it is owed, at a glance."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from keyvend.db.key_filters import valid_keys
from keyvend.db.models import ApiKeyService, Client, Extension, Invoice, Order, Product
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.invoice_states import InvoiceStatus
from keyvend.domain.money import show
from keyvend.domain.order_states import OrderStatus
from keyvend.schemas.product import ProductStatus
from keyvend.schemas.system import DashboardCounts
from keyvend.services import extension


def counts(db: Database) -> DashboardCounts:
    """Products, clients, orders by status, keys that would check valid right now, and the
    month's revenue, the unpaid total and the overdue invoices."""
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(
            select(Order.status, func.count(Order.id)).group_by(Order.status)
        ).all()
        by_status: dict[str, int] = {status: int(count) for status, count in rows}
        revenue, unpaid, overdue = _billing(uow)
        return DashboardCounts(
            products=_count(uow, select(func.count(Product.id))),
            enabled_products=_count(
                uow, select(func.count(Product.id)).where(Product.status == ProductStatus.ENABLED)
            ),
            clients=_count(uow, select(func.count(Client.id))),
            orders=sum(by_status.values()),
            active_orders=by_status.get(OrderStatus.ACTIVE.value, 0),
            suspended_orders=by_status.get(OrderStatus.SUSPENDED.value, 0),
            pending_orders=by_status.get(OrderStatus.PENDING_SETUP.value, 0),
            active_keys=_active_keys(uow),
            currency=uow.shop.currency,
            revenue_this_month=revenue,
            unpaid_total=unpaid,
            overdue_invoices=overdue,
        )


def _count(uow: UnitOfWork, query: Select[Any]) -> int:
    return int(uow.session.scalar(query) or 0)


def _active_keys(uow: UnitOfWork) -> int | None:
    """Keys whose check answers true: enabled, order active and not expired."""
    row = uow.session.get(Extension, extension.APIKEY)
    if row is None or row.status == extension.NOT_INSTALLED:
        return None  # uninstalling dropped the table
    return _count(uow, valid_keys(select(func.count(ApiKeyService.id)), uow.now()))


def _billing(uow: UnitOfWork) -> tuple[str, str, int]:
    """Revenue since the first of this month (by the database clock), the unpaid total and
    the overdue count, over invoices in the shop's currency (two currencies never add up)."""
    now, currency = uow.now(), uow.shop.currency
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    total = select(func.coalesce(func.sum(Invoice.total), 0)).where(Invoice.currency == currency)
    unpaid = Invoice.status == InvoiceStatus.UNPAID
    revenue = total.where(Invoice.status == InvoiceStatus.PAID, Invoice.paid_at >= month_start)
    overdue = select(func.count(Invoice.id)).where(unpaid, Invoice.due_at < now)
    return (
        show(_count(uow, revenue), currency),
        show(_count(uow, total.where(unpaid)), currency),
        _count(uow, overdue),
    )
