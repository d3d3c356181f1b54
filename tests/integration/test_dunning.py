"""Renewals and dunning (`services.dunning` through `cron.run`) on SQLite and PostgreSQL.

A driven clock moves through an order's life: its renewal invoice, the reminders, the
suspension, the payment that brings it back, the cancellation. Nothing sleeps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from keyvend.db.models import Event, Invoice, InvoiceItem, Order
from keyvend.db.unit_of_work import Database
from keyvend.domain.order_states import Action
from keyvend.schemas.account import ClientCreate
from keyvend.schemas.cart import CartItemCreate
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import (
    business_settings,
    cart,
    cron,
    extension,
    invoice,
    order,
    product,
    serviceapikey,
)
from keyvend.services import client as clients
from keyvend.services import payment as payments
from keyvend.services.cart import CartOwner
from tests.conftest import FakeClock
from tests.support.keys import key_via_service

# Orders start on the FakeClock's 2026-01-15 12:00 UTC; a 1M order expires on 2026-02-15 12:00.
EXPIRES = datetime(2026, 2, 15, 12, 0, tzinfo=UTC)
RENEWED = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # one month more, from the old expiry
MONTHLY = {"type": "recurrent", "recurrent": {"1M": "10"}}


@dataclass
class Shop:
    """One client and the products the tests sell them."""

    db: Database
    client_id: int

    def product(self, setup: str = "after_order", pricing: dict[str, Any] | None = None) -> int:
        pid = product.prepare(self.db, ProductCreate(title="Pro", type="apikey"))
        update = ProductUpdate(status="enabled", setup=setup, pricing=pricing or MONTHLY)
        product.update(self.db, pid, update)
        return pid

    def order(self, pricing: dict[str, Any] | None = None) -> int:
        """An active 1M order, placed and activated by an admin (no invoice)."""
        data = OrderCreate(
            client_id=self.client_id,
            product_id=self.product(pricing=pricing),
            period="1M",
            activate=True,
        )
        return order.create(self.db, data)

    def checkout(self, setup: str) -> tuple[int, int]:
        """A 1M order through the cart: its id and its (unpaid) invoice's."""
        owner = CartOwner(client_id=self.client_id)
        cart.add_item(self.db, owner, CartItemCreate(product_id=self.product(setup), period="1M"))
        placed = cart.checkout(self.db, self.client_id)
        assert placed.invoice_id is not None
        return placed.order_id, placed.invoice_id


@pytest.fixture
def shop(db: Database) -> Shop:
    account = clients.create(
        db, ClientCreate(email="jo@example.com", first_name="Jo", password="jo-pass-123")
    )
    return Shop(db, account.id)


def settings(db: Database, **changes: Any) -> None:
    business_settings.update(db, changes)


def renewals_of(db: Database, order_id: int) -> list[tuple[int, str]]:
    """(invoice id, status) of every renewal invoice of the order."""
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(
            select(Invoice.id, Invoice.status)
            .join(InvoiceItem, InvoiceItem.invoice_id == Invoice.id)
            .where(InvoiceItem.order_id == order_id, InvoiceItem.task == "renew")
            .order_by(Invoice.id)
        )
        return [(row.id, row.status) for row in rows]


def events(db: Database, type: str) -> list[dict[str, Any]]:
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.scalars(select(Event).where(Event.type == type).order_by(Event.seq))
        return [{"order": e.order_id, "invoice": e.invoice_id, **e.data} for e in rows]


def state(db: Database, order_id: int) -> tuple[str, str | None]:
    found = order.get(db, order_id)
    return found.status, found.reason


def due_at(db: Database, invoice_id: int) -> datetime:
    return invoice.get(db, invoice_id).due_at


# -- renewal invoices ------------------------------------------------------------------------


def test_a_renewal_invoice_is_issued_14_days_before_expiry_and_not_15(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid = shop.order()
    clock.now = EXPIRES - timedelta(days=15)
    assert cron.run(db)["renewal_invoices"] == []
    clock.now = EXPIRES - timedelta(days=14)
    issued = cron.run(db)["renewal_invoices"]
    assert renewals_of(db, oid) == [(issued[0], "unpaid")]
    lines = invoice.get(db, issued[0]).items
    assert [(line.order_id, line.task, line.total) for line in lines] == [(oid, "renew", "10.00")]


def test_a_second_run_issues_no_second_renewal_invoice(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid = shop.order()
    clock.now = EXPIRES - timedelta(days=10)
    assert len(cron.run(db)["renewal_invoices"]) == 1
    clock.advance(days=1)
    assert cron.run(db)["renewal_invoices"] == []
    assert len(renewals_of(db, oid)) == 1


def test_the_issue_days_come_from_the_business_settings(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid = shop.order()
    settings(db, invoice_issue_days_before_expire=3)
    clock.now = EXPIRES - timedelta(days=4)
    assert cron.run(db)["renewal_invoices"] == []
    clock.advance(days=1)
    assert len(cron.run(db)["renewal_invoices"]) == 1
    assert len(renewals_of(db, oid)) == 1


def test_a_free_order_gets_no_invoice_and_is_suspended_as_expired(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid = shop.order(pricing={"type": "free"})
    clock.now = EXPIRES - timedelta(days=1)
    assert cron.run(db)["renewal_invoices"] == []
    clock.now = EXPIRES + timedelta(seconds=1)
    assert cron.run(db)["suspended_orders"] == [oid]
    assert state(db, oid) == ("suspended", "Expired 2026-02-15")


def test_a_canceled_renewal_invoice_is_issued_anew(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid = shop.order()
    clock.now = EXPIRES - timedelta(days=14)
    [first] = cron.run(db)["renewal_invoices"]
    invoice.cancel(db, first)
    [second] = cron.run(db)["renewal_invoices"]
    assert renewals_of(db, oid) == [(first, "canceled"), (second, "unpaid")]


# -- reminders -------------------------------------------------------------------------------


def test_reminders_before_and_after_the_due_date_are_each_recorded_once(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    settings(db, invoice_reminder_before_due_days="3, 1", invoice_reminder_after_due_days="2")
    shop.order()
    clock.now = EXPIRES - timedelta(days=14)
    [iid] = cron.run(db)["renewal_invoices"]
    due = due_at(db, iid)  # a renewal invoice is due when the order expires
    steps = [(-3, [{"days_before": 3}], []), (-1, [{"days_before": 1}], [])]
    steps += [(2, [], [{"days_after": 2}]), (30, [], [])]
    sent: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []
    for days, before, after in steps:
        clock.now = due + timedelta(days=days)
        assert cron.run(db)["reminders"] == ([iid] if before or after else [])
        assert cron.run(db)["reminders"] == []  # the same day again: nothing more
        sent += [{"order": None, "invoice": iid, **data} for data in before]
        overdue += [{"order": None, "invoice": iid, **data} for data in after]
        assert events(db, "invoice.reminder") == sent
        assert events(db, "invoice.overdue") == overdue
    with db.unit_of_work(read_only=True) as uow:
        row = uow.session.get(Invoice, iid)
        assert row is not None and row.reminders == ["before:3", "before:1", "after:2"]


def test_reminder_days_the_cron_missed_give_one_reminder_not_one_per_day(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    settings(db, invoice_reminder_before_due_days="4, 3, 2", invoice_reminder_after_due_days="1,3")
    shop.order()
    clock.now = EXPIRES - timedelta(days=14)
    [iid] = cron.run(db)["renewal_invoices"]
    due = due_at(db, iid)
    clock.now = due - timedelta(days=2)  # days 4 and 3 before passed while the cron was off
    assert cron.run(db)["reminders"] == [iid]
    assert [e["days_before"] for e in events(db, "invoice.reminder")] == [2]
    clock.now = due + timedelta(days=5)  # both overdue days passed
    assert cron.run(db)["reminders"] == [iid]
    clock.advance(days=1)
    assert cron.run(db)["reminders"] == []
    assert [e["days_after"] for e in events(db, "invoice.overdue")] == [3]


def test_no_reminder_is_sent_for_a_day_before_the_invoice_existed(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    settings(db, invoice_reminder_before_due_days="20", invoice_reminder_after_due_days="")
    shop.order()
    clock.now = EXPIRES - timedelta(days=14)
    # Due when the order expires, in 14 days: "20 days before" never comes.
    assert len(cron.run(db)["renewal_invoices"]) == 1
    for hours in range(0, 24 * 14, 12):
        clock.now = EXPIRES - timedelta(days=14) + timedelta(hours=hours)
        assert cron.run(db)["reminders"] == []
    assert events(db, "invoice.reminder") == []


def test_a_paid_invoice_gets_no_reminder(db: Database, shop: Shop, clock: FakeClock) -> None:
    shop.order()
    clock.now = EXPIRES - timedelta(days=14)
    [iid] = cron.run(db)["renewal_invoices"]
    assert due_at(db, iid) == EXPIRES  # a renewal is due when the paid period ends
    payments.mark_as_paid(db, iid)
    clock.now = due_at(db, iid) + timedelta(days=6)
    assert cron.run(db)["reminders"] == []
    assert events(db, "invoice.overdue") == []


# -- suspension and renewal by payment -------------------------------------------------------


def test_an_unpaid_order_is_suspended_for_non_payment_after_the_grace_days_and_not_before(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    settings(db, suspend_grace_days=3)
    oid = shop.order()
    key = key_via_service(db, oid)
    clock.now = EXPIRES - timedelta(days=14)
    cron.run(db)
    clock.now = EXPIRES + timedelta(days=3)
    assert cron.run(db)["suspended_orders"] == []
    assert state(db, oid) == ("active", None)
    clock.advance(seconds=1)
    assert cron.run(db)["suspended_orders"] == [oid]
    assert state(db, oid) == ("suspended", "Non-payment")
    assert [e["order"] for e in events(db, "order.suspended")] == [oid]
    clock.advance(days=1)
    assert cron.run(db)["suspended_orders"] == []
    assert len(events(db, "order.suspended")) == 1
    assert serviceapikey.check(db, key) is False


def test_paying_the_renewal_late_unsuspends_and_extends_from_the_old_expiry(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid = shop.order()
    key = key_via_service(db, oid)
    clock.now = EXPIRES - timedelta(days=14)
    [iid] = cron.run(db)["renewal_invoices"]
    clock.now = EXPIRES + timedelta(days=2)
    assert cron.run(db)["suspended_orders"] == [oid]
    payments.mark_as_paid(db, iid)
    assert state(db, oid) == ("active", None)
    assert order.get(db, oid).expires_at == RENEWED
    assert serviceapikey.check(db, key) is True
    again = cron.run(db)
    assert (again["suspended_orders"], again["renewal_invoices"]) == ([], [])


def test_paying_the_renewal_on_time_extends_from_the_old_expiry(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid = shop.order()
    clock.now = EXPIRES - timedelta(days=14)
    [iid] = cron.run(db)["renewal_invoices"]
    assert due_at(db, iid) == EXPIRES  # a renewal is due when the paid period ends
    payments.mark_as_paid(db, iid)
    assert order.get(db, oid).expires_at == RENEWED
    clock.now = EXPIRES + timedelta(days=1)
    assert cron.run(db)["suspended_orders"] == []
    assert cron.run(db)["renewal_invoices"] == []  # next one 14 days before 2026-03-15


def test_an_order_an_admin_suspended_stays_suspended_when_its_renewal_is_paid(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid = shop.order()
    clock.now = EXPIRES - timedelta(days=14)
    [iid] = cron.run(db)["renewal_invoices"]
    order.act(db, oid, Action.SUSPEND, reason="Abuse report")
    payments.mark_as_paid(db, iid)
    assert state(db, oid) == ("suspended", "Abuse report")
    assert order.get(db, oid).expires_at == RENEWED


def test_an_after_order_order_is_suspended_when_its_invoice_is_unpaid_past_due_and_grace(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    settings(db, suspend_grace_days=2)
    oid, iid = shop.checkout("after_order")
    assert state(db, oid) == ("active", None)
    clock.now = due_at(db, iid) + timedelta(days=2)
    assert cron.run(db)["suspended_orders"] == []
    clock.advance(seconds=1)
    assert cron.run(db)["suspended_orders"] == [oid]
    assert state(db, oid) == ("suspended", "Non-payment")
    payments.mark_as_paid(db, iid)  # paid late: the order comes back
    assert state(db, oid) == ("active", None)
    assert cron.run(db)["suspended_orders"] == []


def test_a_paid_after_order_order_is_left_alone(db: Database, shop: Shop, clock: FakeClock) -> None:
    oid, iid = shop.checkout("after_order")
    payments.mark_as_paid(db, iid)
    clock.now = due_at(db, iid) + timedelta(days=10)
    assert cron.run(db)["suspended_orders"] == []
    assert state(db, oid) == ("active", None)


# -- cancellation ----------------------------------------------------------------------------


def test_an_order_suspended_for_non_payment_is_canceled_after_the_set_days(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    settings(db, cancel_suspended_after_days=10)
    oid, held = shop.order(), shop.order()
    clock.now = EXPIRES - timedelta(days=14)
    cron.run(db)
    order.act(db, held, Action.SUSPEND, reason="Manual hold")
    clock.now = EXPIRES + timedelta(seconds=1)
    assert cron.run(db)["suspended_orders"] == [oid]
    clock.advance(days=10)
    assert cron.run(db)["canceled_orders"] == []
    clock.advance(seconds=1)
    assert cron.run(db)["canceled_orders"] == [oid]
    assert state(db, oid) == ("canceled", "Non-payment")
    clock.advance(days=365)
    assert cron.run(db)["canceled_orders"] == []
    assert state(db, held) == ("suspended", "Manual hold")  # an admin's hold is theirs


def test_suspended_orders_are_never_canceled_by_default(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid = shop.order()
    clock.now = EXPIRES + timedelta(seconds=1)
    assert cron.run(db)["suspended_orders"] == [oid]
    clock.advance(days=3650)
    assert cron.run(db)["canceled_orders"] == []
    assert state(db, oid)[0] == "suspended"


# -- retries of failed tasks -----------------------------------------------------------------


def item_of(db: Database, invoice_id: int) -> tuple[str, int]:
    [line] = invoice.get(db, invoice_id).items
    return line.status, line.attempts


def test_a_failed_task_is_retried_up_to_three_attempts_then_left_alone(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid, iid = shop.checkout("after_payment")
    extension.deactivate(db, extension.APIKEY)
    payments.mark_as_paid(db, iid)  # the activation fails: the module is off
    assert item_of(db, iid) == ("failed", 1)
    [line] = invoice.get(db, iid).items
    assert cron.run(db)["retried_items"] == [line.id]
    assert item_of(db, iid) == ("failed", 2)
    assert cron.run(db)["retried_items"] == [line.id]
    assert item_of(db, iid) == ("failed", 3)
    extension.activate(db, extension.APIKEY)
    assert cron.run(db)["retried_items"] == []
    assert item_of(db, iid) == ("failed", 3)
    assert state(db, oid)[0] == "pending_setup"
    assert [e["attempts"] for e in events(db, "invoice.task_failed")] == [1, 2, 3]


def test_a_retried_task_that_succeeds_activates_the_order(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    oid, iid = shop.checkout("after_payment")
    extension.deactivate(db, extension.APIKEY)
    payments.mark_as_paid(db, iid)
    extension.activate(db, extension.APIKEY)
    assert len(cron.run(db)["retried_items"]) == 1
    assert item_of(db, iid) == ("executed", 2)
    assert state(db, oid) == ("active", None)
    assert cron.run(db)["retried_items"] == []


# -- one row failing -------------------------------------------------------------------------


def test_a_row_that_fails_is_logged_and_the_others_are_done(
    db: Database, shop: Shop, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    broken, fine = shop.order(), shop.order()
    with db.unit_of_work() as uow:  # a product type this build does not know: hooks fail
        uow.session.execute(update(Order).where(Order.id == broken).values(type="gone"))
        uow.commit()
    clock.now = EXPIRES + timedelta(seconds=1)
    with caplog.at_level(logging.WARNING, logger="keyvend.dunning"):
        assert cron.run(db)["suspended_orders"] == [fine]
    assert f"Order #{broken} skipped" in caplog.text
    assert state(db, broken)[0] == "active"


def test_the_summary_lists_every_job_in_order(db: Database) -> None:
    assert list(cron.run(db)) == [
        "retried_items",
        "renewal_invoices",
        "reminders",
        "suspended_orders",
        "canceled_orders",
        "deleted_sessions",
        "deleted_guest_carts",
        "emails_sent",
        "webhooks_sent",
        "expiry_events",
    ]


def test_an_order_paid_every_month_gets_one_renewal_invoice_a_month(
    db: Database, shop: Shop, clock: FakeClock
) -> None:
    """Four months of daily runs, each renewal paid the day it is issued."""
    oid = shop.order()
    for _ in range(120):
        clock.advance(days=1)
        for iid in cron.run(db)["renewal_invoices"]:
            payments.mark_as_paid(db, iid)
    with db.unit_of_work(read_only=True) as uow:
        per_order = uow.session.scalar(
            select(func.count(InvoiceItem.id)).where(InvoiceItem.order_id == oid)
        )
    assert per_order == 4  # 2026-02-15, 03-15, 04-15 and 05-15, each issued 14 days ahead
    assert state(db, oid) == ("active", None)
