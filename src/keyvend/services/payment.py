"""Payments (FOSSBilling's invoice payments): pay, refund and retry the tasks of invoices.

Paying goes through `settle` alone: it marks the invoice paid and runs each line's task
(activate, renew) in the same transaction, each task in a savepoint of its own, so a task
that fails leaves the payment recorded and its line `failed` for a retry. Gateways report
money through `record_payment`, which pays an invoice once however often, or however many
times at once, the same payment is reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from keyvend.adapters.gateways.bank_transfer import BankTransfer
from keyvend.adapters.gateways.base import Gateways
from keyvend.db.models import Invoice, InvoiceItem, Order, Transaction
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, KeyvendError, NotFound
from keyvend.domain.fields import text
from keyvend.domain.invoice_states import (
    InvoiceStatus,
    ItemStatus,
    ItemTask,
    TransactionStatus,
    TransactionType,
    next_invoice_status,
)
from keyvend.domain.money import label
from keyvend.domain.order_states import Action, OrderStatus
from keyvend.schemas.invoice import InvoicePublic, PaymentStart
from keyvend.services import business_settings
from keyvend.services import order as orders
from keyvend.services.invoice import find, get_by_hash, items_of, public

log = logging.getLogger("keyvend.payment")
MANUAL = "manual"  # the gateway name of payments and refunds an admin records


@dataclass(frozen=True)
class PaymentReport:
    """Money a gateway says it received for an invoice (amount in minor units)."""

    gateway: str
    txn_id: str
    invoice_id: int | None
    amount: int | None
    currency: str | None
    note: str = ""


# -- paying --------------------------------------------------------------------------------


def settle(uow: UnitOfWork, invoice: Invoice, *, gateway: str) -> None:
    """Mark `invoice` paid and run its lines' tasks, all in this unit of work."""
    invoice.status = next_invoice_status("pay", invoice.status)
    now = uow.now()
    invoice.paid_at = now
    invoice.gateway = invoice.gateway if gateway == MANUAL and invoice.gateway else gateway
    invoice.updated_at = now
    uow.record(
        "invoice.paid",
        client_id=invoice.client_id,
        invoice_id=invoice.id,
        data={"number": invoice.number, "total": label(invoice.total, invoice.currency)},
    )
    for item in items_of(uow, invoice.id):
        run_task(uow, item)


def run_task(uow: UnitOfWork, item: InvoiceItem) -> bool:
    """Run a line's task in a savepoint; on failure only the task's own changes are undone
    and the line is `failed` with its error. True when the task is done."""
    if item.status == ItemStatus.EXECUTED:
        return True
    item.attempts += 1
    item.updated_at = uow.now()
    try:
        with uow.session.begin_nested():
            _execute(uow, item)
    except DBAPIError:
        raise  # the database itself failed: the whole payment rolls back and is retried
    except Exception as exc:
        message = exc.message if isinstance(exc, KeyvendError) else "Internal error"
        if not isinstance(exc, KeyvendError):
            log.exception("invoice task failed", extra={"item_id": item.id})
        item.status = ItemStatus.FAILED
        item.error = message[:500]
        uow.record(
            "invoice.task_failed",
            order_id=item.order_id,
            invoice_id=item.invoice_id,
            data={"task": item.task, "error": item.error, "attempts": item.attempts},
        )
        return False
    item.status = ItemStatus.EXECUTED
    item.error = None
    return True


def _execute(uow: UnitOfWork, item: InvoiceItem) -> None:
    if item.task == ItemTask.NONE:
        return
    order = uow.session.get(Order, item.order_id, with_for_update=True) if item.order_id else None
    if order is None:
        raise NotFound("The order of this line no longer exists")
    if item.task == ItemTask.ACTIVATE:
        if order.status in (OrderStatus.PENDING_SETUP, OrderStatus.FAILED_SETUP):
            orders.transition(uow, order, Action.ACTIVATE)
        elif order.status == OrderStatus.SUSPENDED and orders.suspended_for_payment(order):
            orders.transition(uow, order, Action.UNSUSPEND)  # an after_order order, paid late
    elif item.task == ItemTask.RENEW:
        orders.renew_for_payment(uow, order)


def record_payment(db: Database, report: PaymentReport) -> str:
    """Record money a gateway reported and pay its invoice with it, once.

    Returns `paid`, `duplicate` (this payment was recorded before: nothing changes) or
    `error` (recorded as an error transaction: unknown invoice, not unpaid, or the amount
    or currency differ from the invoice's; the invoice stays as it was).
    """
    with db.unit_of_work() as uow:
        invoice = (
            uow.session.get(Invoice, report.invoice_id, with_for_update=True)
            if report.invoice_id is not None
            else None
        )
        if _recorded(uow, report.gateway, TransactionType.PAYMENT, report.txn_id):
            return "duplicate"
        problem = _mismatch(invoice, report)
        row = Transaction(
            invoice_id=invoice.id if invoice else None,
            gateway=report.gateway,
            type=TransactionType.PAYMENT,
            txn_id=report.txn_id[:255],
            status=TransactionStatus.ERROR if problem else TransactionStatus.PROCESSED,
            amount=report.amount,
            currency=report.currency.upper() if report.currency else None,
            note=report.note[:500],
            error=problem,
            created_at=uow.now(),
        )
        uow.session.add(row)
        try:
            uow.flush()
        except Conflict:  # a concurrent copy of the report recorded it first
            return "duplicate"
        if problem or invoice is None:
            uow.record(
                "payment.failed",
                client_id=invoice.client_id if invoice else None,
                invoice_id=invoice.id if invoice else None,
                data={"gateway": report.gateway, "txn_id": report.txn_id, "error": problem},
            )
        else:
            settle(uow, invoice, gateway=report.gateway)
        try:
            uow.commit()
        except Conflict:  # a concurrent copy of the report recorded it first
            return "duplicate"
        return "error" if problem else "paid"


def _recorded(uow: UnitOfWork, gateway: str, kind: TransactionType, txn_id: str) -> bool:
    found = uow.session.scalar(
        select(Transaction.id).where(
            Transaction.gateway == gateway,
            Transaction.type == kind,
            Transaction.txn_id == txn_id[:255],
        )
    )
    return found is not None


def _mismatch(invoice: Invoice | None, report: PaymentReport) -> str | None:
    if invoice is None:
        return "No invoice matches this payment"
    if invoice.status != InvoiceStatus.UNPAID:
        return f"The invoice is already {invoice.status}"
    if (report.currency or "").upper() != invoice.currency:
        return f"Currency {report.currency} differs from the invoice's {invoice.currency}"
    if report.amount != invoice.total:
        return (
            f"Amount {report.amount} differs from the invoice total {invoice.total} (minor units)"
        )
    return None


def mark_as_paid(
    db: Database, invoice_id: int, *, transaction_id: str | None = None, note: str | None = None
) -> bool:
    """An admin records a payment (a bank transfer arrived): the invoice is paid now."""
    note = text(note, name="note", max_length=500)
    txn_id = text(transaction_id, name="transaction_id", max_length=255)
    with db.unit_of_work() as uow:
        invoice = find(uow, invoice_id, lock=True)
        next_invoice_status("pay", invoice.status)
        uow.session.add(
            Transaction(
                invoice_id=invoice.id,
                gateway=MANUAL,
                type=TransactionType.PAYMENT,
                txn_id=txn_id or f"invoice-{invoice.id}",
                status=TransactionStatus.PROCESSED,
                amount=invoice.total,
                currency=invoice.currency,
                note=note,
                error=None,
                created_at=uow.now(),
            )
        )
        try:
            uow.flush()  # the unique transaction id clashes here, before any task runs
        except Conflict:
            raise Conflict("A payment with this transaction id is already recorded") from None
        settle(uow, invoice, gateway=MANUAL)
        uow.commit()
    return True


def refund(db: Database, invoice_id: int, gateways: Gateways, *, note: str | None = None) -> bool:
    """Refund a paid invoice: through its gateway when one took the money (Stripe), else
    recorded as given back by hand. The refund's idempotency key is the invoice's, so a
    retry after a failure never refunds twice. Orders keep their state: cancel them too if
    their keys should stop."""
    note = text(note, name="note", max_length=500)
    with db.unit_of_work() as uow:
        invoice = find(uow, invoice_id, lock=True)
        next_invoice_status("refund", invoice.status)
        payment = uow.session.scalar(
            select(Transaction)
            .where(
                Transaction.invoice_id == invoice.id,
                Transaction.type == TransactionType.PAYMENT,
                Transaction.status == TransactionStatus.PROCESSED,
            )
            .order_by(Transaction.id.desc())
            .limit(1)
        )
        gateway = gateways.find(payment.gateway) if payment else None
        if payment is not None and gateway is not None:
            refund_id = gateway.refund(
                payment_txn_id=payment.txn_id,
                amount=invoice.total,
                currency=invoice.currency,
                idempotency_key=f"keyvend-refund-{invoice.id}-{invoice.total}",
            )
            via = gateway.name
        else:
            refund_id, via = f"invoice-{invoice.id}", MANUAL
        now = uow.now()
        uow.session.add(
            Transaction(
                invoice_id=invoice.id,
                gateway=via,
                type=TransactionType.REFUND,
                txn_id=refund_id,
                status=TransactionStatus.PROCESSED,
                amount=invoice.total,
                currency=invoice.currency,
                note=note,
                error=None,
                created_at=now,
            )
        )
        invoice.status = InvoiceStatus.REFUNDED
        invoice.updated_at = now
        uow.record(
            "invoice.refunded",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            data={"number": invoice.number, "total": label(invoice.total, invoice.currency)},
        )
        uow.commit()
    return True


def retry_tasks(db: Database, invoice_id: int) -> InvoicePublic:
    """Run the failed tasks of a paid invoice again (an admin's retry: no attempt limit)."""
    with db.unit_of_work() as uow:
        invoice = find(uow, invoice_id, lock=True)
        if invoice.status != InvoiceStatus.PAID:
            raise Conflict(f"Only paid invoices run their tasks; this invoice is {invoice.status}")
        for item in items_of(uow, invoice.id):
            if item.status == ItemStatus.FAILED:
                run_task(uow, item)
        uow.commit()
        return public(uow, invoice)


def standing_instructions(db: Database, gateways: Gateways, found: InvoicePublic) -> str | None:
    """The bank-transfer instructions of an unpaid invoice whose client chose bank transfer
    (shown again on every later visit); None otherwise. Starting a bank transfer changes
    nothing, so this is only a read."""
    if found.status != InvoiceStatus.UNPAID or found.gateway != BankTransfer.name:
        return None
    gateway = gateways.find(BankTransfer.name)
    if gateway is None:
        return None
    business = business_settings.get(db)
    return gateway.start(found, shop=db.shop, business=business).instructions


def start_payment(
    db: Database, gateways: Gateways, invoice_hash: str, gateway_name: str
) -> PaymentStart:
    """Begin paying the invoice behind a pay link with a gateway (Stripe: a checkout page
    to go to; bank transfer: the instructions). The gateway is called outside any
    transaction; the invoice remembers which one the client chose."""
    gateway = gateways.get(gateway_name)
    invoice = get_by_hash(db, invoice_hash)
    if invoice.status != InvoiceStatus.UNPAID:
        raise Conflict(f"This invoice is {invoice.status}; there is nothing to pay")
    business = business_settings.get(db)
    started = gateway.start(invoice, shop=db.shop, business=business)
    with db.unit_of_work() as uow:
        row = find(uow, invoice.id, lock=True)
        if row.status == InvoiceStatus.UNPAID and row.gateway != gateway.name:
            row.gateway = gateway.name
            row.updated_at = uow.now()
            uow.commit()
    return started
