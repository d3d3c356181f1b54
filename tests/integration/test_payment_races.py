"""Payments at the same moment, on real SQLite and PostgreSQL: each paid once, none lost.

Every task here starts behind one barrier on its own thread, all sharing one Database, as the
requests of one server do.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from keyvend.db.models import Event, Invoice, InvoiceItem, Order, Transaction
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict
from keyvend.schemas.account import ClientCreate
from keyvend.schemas.cart import CartItemCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import cart, client, invoice, product
from keyvend.services import payment as payments
from keyvend.services.cart import CartOwner
from keyvend.services.payment import PaymentReport
from tests.support.concurrency import at_once


def new_product(db: Database, *, setup: str, recurrent: bool = False) -> int:
    pid = product.prepare(db, ProductCreate(title="Paid", type="apikey"))
    pricing: dict[str, Any] = (
        {"type": "recurrent", "recurrent": {"1M": "10.00"}}
        if recurrent
        else {"type": "once", "once": {"price": "10.00"}}
    )
    product.update(db, pid, ProductUpdate(status="enabled", setup=setup, pricing=pricing))
    return pid


def new_client(db: Database, email: str) -> int:
    return client.create(db, ClientCreate(email=email, first_name="Jo")).id


def bought(db: Database, client_id: int, product_id: int, period: str | None = None) -> Any:
    item = CartItemCreate(product_id=product_id, period=period)
    cart.add_item(db, CartOwner(client_id=client_id), item)
    return cart.checkout(db, client_id)


def count(db: Database, query: Any) -> int:
    with db.unit_of_work(read_only=True) as uow:
        return int(uow.session.scalar(query) or 0)


def events_of(db: Database, kind: str) -> int:
    return count(db, select(func.count(Event.seq)).where(Event.type == kind))


def status_of(db: Database, model: Any, row_id: int) -> str:
    with db.unit_of_work(read_only=True) as uow:
        row = uow.session.get(model, row_id)
        assert row is not None
        return str(row.status)


@pytest.fixture
def pending(db: Database) -> Any:
    """An after_payment checkout: an order waiting for its unpaid 10.00 USD invoice."""
    return bought(db, new_client(db, "jo@example.com"), new_product(db, setup="after_payment"))


def test_five_reports_of_one_payment_at_once_pay_and_activate_once(
    db: Database, pending: Any
) -> None:
    report = PaymentReport(
        gateway="stripe",
        txn_id="pi_123",
        invoice_id=pending.invoice_id,
        amount=1000,
        currency="usd",
    )
    outcomes = at_once([lambda: payments.record_payment(db, report)] * 5)
    assert sorted(outcomes) == ["duplicate"] * 4 + ["paid"], outcomes
    assert count(db, select(func.count(Transaction.id))) == 1
    processed = select(func.count(Transaction.id)).where(Transaction.status == "processed")
    assert count(db, processed) == 1
    assert status_of(db, Invoice, pending.invoice_id) == "paid"
    assert status_of(db, Order, pending.order_id) == "active"
    assert events_of(db, "order.activated") == 1
    assert events_of(db, "invoice.paid") == 1
    assert payments.record_payment(db, report) == "duplicate"  # and once more, later


def test_a_report_whose_amount_differs_is_recorded_as_an_error_and_pays_nothing(
    db: Database, pending: Any
) -> None:
    short = PaymentReport(
        gateway="stripe", txn_id="pi_9", invoice_id=pending.invoice_id, amount=999, currency="USD"
    )
    assert payments.record_payment(db, short) == "error"
    assert status_of(db, Invoice, pending.invoice_id) == "unpaid"
    with db.unit_of_work(read_only=True) as uow:
        (row,) = uow.session.scalars(select(Transaction))
        assert (row.status, row.amount) == ("error", 999)
        assert "differs from the invoice total" in (row.error or "")
    assert payments.record_payment(db, short) == "duplicate"
    unknown = PaymentReport(
        gateway="stripe", txn_id="pi_x", invoice_id=None, amount=1, currency="USD"
    )
    assert payments.record_payment(db, unknown) == "error"
    assert events_of(db, "payment.failed") == 2


def test_two_admins_marking_one_invoice_paid_at_once_pay_it_once(
    db: Database, pending: Any
) -> None:
    outcomes = at_once([lambda: payments.mark_as_paid(db, pending.invoice_id)] * 2)
    assert outcomes.count(True) == 1, outcomes
    (refused,) = [o for o in outcomes if o is not True]
    assert isinstance(refused, Conflict)
    assert refused.message == "Only unpaid invoices can be paid; this invoice is paid"
    assert count(db, select(func.count(Transaction.id))) == 1
    assert events_of(db, "order.activated") == 1


def test_two_checkouts_of_different_clients_at_once_get_consecutive_numbers(
    db: Database,
) -> None:
    pid = new_product(db, setup="after_payment")
    buyers = [new_client(db, f"c{i}@example.com") for i in range(2)]
    for buyer in buyers:
        cart.add_item(db, CartOwner(client_id=buyer), CartItemCreate(product_id=pid))
    outcomes = at_once([lambda b=b: cart.checkout(db, b) for b in buyers])  # type: ignore[misc]
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    with db.unit_of_work(read_only=True) as uow:
        numbers = sorted(uow.session.scalars(select(Invoice.number)))
    assert numbers == ["KV-00001", "KV-00002"]


def test_two_renew_now_calls_at_once_issue_one_invoice(db: Database) -> None:
    buyer = new_client(db, "jo@example.com")
    placed = bought(db, buyer, new_product(db, setup="after_order", recurrent=True), "1M")
    outcomes = at_once(
        [
            lambda: invoice.renewal_invoice(db, placed.order_id),
            lambda: invoice.renewal_invoice(db, placed.order_id, client_id=buyer),
        ]
    )
    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], int), outcomes
    renewals = select(func.count(InvoiceItem.id)).where(InvoiceItem.task == "renew")
    assert count(db, renewals) == 1


def assert_nothing_applied(db: Database, pending: Any) -> None:
    assert status_of(db, Invoice, pending.invoice_id) == "unpaid"
    assert status_of(db, Order, pending.order_id) == "pending_setup"
    assert count(db, select(func.count(Transaction.id))) == 0
    assert events_of(db, "invoice.paid") == events_of(db, "order.activated") == 0


def test_a_crash_after_settling_before_commit_applies_nothing(db: Database, pending: Any) -> None:
    with pytest.raises(RuntimeError, match="power cut"), db.unit_of_work() as uow:
        row = uow.session.get(Invoice, pending.invoice_id, with_for_update=True)
        assert row is not None
        payments.settle(uow, row, gateway="stripe")
        uow.flush()
        raise RuntimeError("power cut")
    assert_nothing_applied(db, pending)


def test_a_payment_whose_commit_crashes_is_applied_in_full_when_reported_again(
    db: Database, pending: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_commit = UnitOfWork.commit

    def crashing_commit(self: UnitOfWork) -> None:
        monkeypatch.setattr(UnitOfWork, "commit", real_commit)  # only the first one fails
        raise RuntimeError("power cut")

    monkeypatch.setattr(UnitOfWork, "commit", crashing_commit)
    report = PaymentReport(
        gateway="stripe", txn_id="pi_7", invoice_id=pending.invoice_id, amount=1000, currency="USD"
    )
    with pytest.raises(RuntimeError, match="power cut"):
        payments.record_payment(db, report)
    assert_nothing_applied(db, pending)
    assert payments.record_payment(db, report) == "paid"  # the gateway's retry is not a duplicate
    assert status_of(db, Order, pending.order_id) == "active"
    assert events_of(db, "order.activated") == 1
