"""Cron runs that overlap, as two hosts' would, on real SQLite and PostgreSQL.

Each run has a Database (engine, pool) of its own on the same database, and the runs start
together behind a barrier. Whatever the interleaving, every order gets one renewal invoice,
every invoice one reminder, every order one suspension.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.models import Event, InvoiceItem
from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import business_settings, cron, invoice, order, product
from keyvend.services import client as clients
from keyvend.services import payment as payments
from keyvend.services.cron import CronSummary
from tests.conftest import FakeClock
from tests.support.concurrency import all_at_once

EXPIRES = datetime(2026, 2, 15, 12, 0, tzinfo=UTC)  # a 1M order of the FakeClock's start
ORDERS = 8
RUNS = 2


@pytest.fixture
def hosts(settings: Settings, clock: FakeClock, db: Database) -> Any:
    """`RUNS` Databases on the test's database, as separate hosts would have."""
    databases = [build_database(settings, clock) for _ in range(RUNS)]
    yield databases
    for database in databases:
        database.dispose()


def overlapping_runs(hosts: list[Database]) -> list[CronSummary]:
    return all_at_once([lambda host=host: cron.run(host) for host in hosts])


@pytest.fixture
def orders(db: Database) -> list[int]:
    """`ORDERS` active 1M orders at 10 a month, and the invoice counter made (by a first
    invoice) as any shop that has sold something has it."""
    cid = clients.create(
        db, ClientCreate(email="jo@example.com", first_name="Jo", password="jo-pass-123")
    ).id
    pid = product.prepare(db, ProductCreate(title="Pro", type="apikey"))
    pricing = {"type": "recurrent", "recurrent": {"1M": "10"}}
    product.update(db, pid, ProductUpdate(status="enabled", pricing=pricing))
    made = [
        order.create(db, OrderCreate(client_id=cid, product_id=pid, period="1M", activate=True))
        for _ in range(ORDERS + 1)
    ]
    payments.mark_as_paid(db, invoice.renewal_invoice(db, made[-1]))  # the first invoice
    order.delete(db, made[-1])
    return made[:-1]


def count_per(db: Database, column: Any, *where: Any) -> dict[int, int]:
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(select(column, func.count()).where(*where).group_by(column))
        return {row[0]: row[1] for row in rows}


def renewal_invoices_per_order(db: Database) -> dict[int, int]:
    return count_per(
        db, InvoiceItem.order_id, InvoiceItem.task == "renew", InvoiceItem.order_id.is_not(None)
    )


def events_per(db: Database, column: Any, type: str) -> dict[int, int]:
    return count_per(db, column, Event.type == type)


def test_overlapping_runs_issue_one_renewal_invoice_per_order(
    db: Database, hosts: list[Database], orders: list[int], clock: FakeClock
) -> None:
    clock.now = EXPIRES - timedelta(days=14)
    summaries = overlapping_runs(hosts)
    issued = [iid for summary in summaries for iid in summary["renewal_invoices"]]
    assert len(issued) == len(set(issued)) == ORDERS
    assert renewal_invoices_per_order(db) == dict.fromkeys(orders, 1)
    again = overlapping_runs(hosts)
    assert [summary["renewal_invoices"] for summary in again] == [[]] * RUNS
    assert renewal_invoices_per_order(db) == dict.fromkeys(orders, 1)


def test_overlapping_runs_send_each_reminder_once(
    db: Database, hosts: list[Database], orders: list[int], clock: FakeClock
) -> None:
    business_settings.update(db, {"invoice_reminder_before_due_days": "2"})
    clock.now = EXPIRES - timedelta(days=14)
    cron.run(db)  # the renewal invoices, due when the orders expire, 14 days later
    for days, event in ((14 - 2, "invoice.reminder"), (14 + 5, "invoice.overdue")):
        clock.now = EXPIRES - timedelta(days=14) + timedelta(days=days)
        summaries = overlapping_runs(hosts)
        reminded = [iid for summary in summaries for iid in summary["reminders"]]
        assert len(reminded) == len(set(reminded)) == ORDERS
        assert sorted(events_per(db, Event.invoice_id, event).values()) == [1] * ORDERS


def test_overlapping_runs_suspend_each_order_once(
    db: Database, hosts: list[Database], orders: list[int], clock: FakeClock
) -> None:
    clock.now = EXPIRES + timedelta(seconds=1)
    summaries = overlapping_runs(hosts)
    suspended = [oid for summary in summaries for oid in summary["suspended_orders"]]
    assert sorted(suspended) == orders
    assert renewal_invoices_per_order(db) == dict.fromkeys(orders, 1)
    assert events_per(db, Event.order_id, "order.suspended") == dict.fromkeys(orders, 1)
    assert [order.get(db, oid).reason for oid in orders] == ["Non-payment"] * ORDERS


def test_a_payment_racing_the_suspension_leaves_the_order_active_and_renewed(
    db: Database, hosts: list[Database], orders: list[int], clock: FakeClock
) -> None:
    clock.now = EXPIRES - timedelta(days=14)
    invoice_ids = cron.run(db)["renewal_invoices"]
    clock.now = EXPIRES + timedelta(seconds=1)
    pay_each = [lambda iid=iid: payments.mark_as_paid(hosts[1], iid) for iid in invoice_ids]
    all_at_once([lambda: cron.run(hosts[0]), lambda: [pay() for pay in pay_each]])
    for oid in orders:
        assert order.get(db, oid).status == "active"
        assert order.get(db, oid).expires_at == datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    assert cron.run(db)["suspended_orders"] == []
