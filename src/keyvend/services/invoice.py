"""Invoices (FOSSBilling's `invoice` module): issue, pay, refund, cancel, retry tasks.

Paying goes through `settle` alone: it marks the invoice paid and runs each line's task
(activate, renew) in the same transaction, each task in a savepoint of its own, so a task
that fails leaves the payment recorded and its line `failed` for a retry. Gateways report
money through `record_payment`, which pays an invoice once however often, or however many
times at once, the same payment is reported.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from keyvend.adapters.gateways.base import Gateways
from keyvend.db.models import Client, Counter, Invoice, InvoiceItem, Order, Transaction
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, KeyvendError, NotFound
from keyvend.domain.fields import choice, text
from keyvend.domain.invoice_states import (
    InvoiceStatus,
    ItemStatus,
    ItemTask,
    TransactionStatus,
    TransactionType,
    next_invoice_status,
)
from keyvend.domain.money import label, tax_of, tax_rate_text, to_minor
from keyvend.domain.order_states import NO_PERIOD, Action, OrderStatus
from keyvend.domain.vault import new_token
from keyvend.schemas.common import Page
from keyvend.schemas.invoice import InvoicePublic, PaymentStart
from keyvend.services import business_settings
from keyvend.services import order as orders
from keyvend.services.pagination import PageRequest

log = logging.getLogger("keyvend.invoice")
NUMBER_PREFIX = "KV-"
MANUAL = "manual"  # the gateway name of payments and refunds an admin records
FREE_RENEWAL = "This order is free, so it has no renewal invoice; an admin renews it"


@dataclass(frozen=True)
class Line:
    """What to bill for one order, and what paying it does."""

    order: Order
    task: ItemTask
    unit_price: Decimal
    quantity: int = 1


@dataclass(frozen=True)
class PaymentReport:
    """Money a gateway says it received for an invoice (amount in minor units)."""

    gateway: str
    txn_id: str
    invoice_id: int | None
    amount: int | None
    currency: str | None
    note: str = ""


# -- issuing -------------------------------------------------------------------------------


def issue(
    uow: UnitOfWork, client: Client, lines: list[Line], *, due_at: datetime | None = None
) -> Invoice:
    """Add an unpaid invoice for `lines` to the unit of work: the next number, the seller's
    and buyer's details as they are now, and the tax of the business settings. It is due
    `invoice_due_days` from now, or at `due_at` when that is later."""
    settings = business_settings.read(uow)
    currency = uow.shop.currency
    now = uow.now()
    priced = [(line, to_minor(line.unit_price, currency)) for line in lines]
    subtotal = sum(unit * line.quantity for line, unit in priced)
    tax = tax_of(subtotal, settings.tax_rate, currency)
    invoice = Invoice(
        number=_next_number(uow),
        hash=new_token(),
        client_id=client.id,
        status=InvoiceStatus.UNPAID,
        currency=currency,
        subtotal=subtotal,
        tax_name=settings.tax_name,
        tax_rate=tax_rate_text(settings.tax_rate),
        tax=tax,
        total=subtotal + tax,
        gateway=None,
        seller=settings.seller(),
        buyer=buyer_of(client),
        reminders=[],
        due_at=max(now + timedelta(days=settings.invoice_due_days), due_at or now),
        paid_at=None,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(invoice)
    uow.flush()
    for line, unit in priced:
        uow.session.add(
            InvoiceItem(
                invoice_id=invoice.id,
                order_id=line.order.id,
                title=line.order.title,
                period=line.order.period,
                quantity=line.quantity,
                unit_price=unit,
                total=unit * line.quantity,
                task=line.task,
                status=ItemStatus.PENDING_PAYMENT,
                attempts=0,
                error=None,
                updated_at=now,
            )
        )
    uow.flush()
    uow.record(
        "invoice.created",
        client_id=client.id,
        invoice_id=invoice.id,
        data={"number": invoice.number, "total": label(invoice.total, currency)},
    )
    return invoice


def buyer_of(client: Client) -> dict[str, str]:
    """The client's details as an invoice keeps them."""
    return {
        "name": f"{client.first_name} {client.last_name}".strip(),
        "email": client.email,
        "company": client.company,
        "address_1": client.address_1,
        "city": client.city,
        "postcode": client.postcode,
        "country": client.country,
    }


def _next_number(uow: UnitOfWork) -> str:
    """The next invoice number; the counter row stays locked until the transaction ends, so
    numbers come in order, and a rolled-back invoice gives its number back (no gaps).

    One upsert both creates the counter and advances it: two first invoices at once must not
    both see no counter row and clash on creating it."""
    dialect = uow.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Counter).values(name="invoice", value=1)
    value = uow.session.scalar(
        statement.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": Counter.value + 1}
        ).returning(Counter.value)
    )
    return f"{NUMBER_PREFIX}{value:05d}"


def unpaid_renewal(uow: UnitOfWork, order_id: int) -> Invoice | None:
    """The order's unpaid renewal invoice, if it has one (there is at most one)."""
    return uow.session.scalar(
        select(Invoice)
        .join(InvoiceItem, InvoiceItem.invoice_id == Invoice.id)
        .where(
            InvoiceItem.order_id == order_id,
            InvoiceItem.task == ItemTask.RENEW,
            Invoice.status == InvoiceStatus.UNPAID,
        )
        .order_by(Invoice.id)
        .limit(1)
    )


def issue_renewal(uow: UnitOfWork, order: Order) -> Invoice:
    """The order's unpaid renewal invoice, issued now unless there already is one.

    Call with the order row locked: two callers at once then issue one invoice."""
    existing = unpaid_renewal(uow, order.id)
    if existing is not None:
        return existing
    if order.period is None:
        raise Conflict(NO_PERIOD)
    if order.price == 0:  # a 0.00 invoice nobody pays would get the order suspended
        raise Conflict(FREE_RENEWAL)
    if order.status not in (OrderStatus.ACTIVE, OrderStatus.SUSPENDED, OrderStatus.FAILED_RENEW):
        raise Conflict(
            f"Only active or suspended orders can be renewed; this order is {order.status}"
        )
    client = uow.session.get(Client, order.client_id)
    if client is None:
        raise NotFound("Client not found")
    unit = order.price / order.quantity
    # Due when the paid period ends (as FOSSBilling), so reminders and "overdue" follow the
    # expiry; a renewal issued late is due `invoice_due_days` from now.
    line = Line(order, ItemTask.RENEW, unit, order.quantity)
    return issue(uow, client, [line], due_at=order.expires_at)


def renewal_invoice(db: Database, order_id: int, *, client_id: int | None = None) -> int:
    """The id of the order's unpaid renewal invoice, issuing it if needed ("Renew now")."""
    with db.unit_of_work() as uow:
        order = uow.session.get(Order, order_id, with_for_update=True)
        if order is None or (client_id is not None and order.client_id != client_id):
            raise NotFound("Order not found")
        invoice = issue_renewal(uow, order)
        uow.commit()
        return invoice.id


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
        invoice = _invoice(uow, invoice_id, lock=True)
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
        invoice = _invoice(uow, invoice_id, lock=True)
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


def cancel(db: Database, invoice_id: int) -> bool:
    """Cancel an unpaid invoice; its orders keep their state."""
    with db.unit_of_work() as uow:
        invoice = _invoice(uow, invoice_id, lock=True)
        invoice.status = next_invoice_status("cancel", invoice.status)
        invoice.updated_at = uow.now()
        uow.record(
            "invoice.canceled",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            data={"number": invoice.number},
        )
        uow.commit()
    return True


def retry_tasks(db: Database, invoice_id: int) -> InvoicePublic:
    """Run the failed tasks of a paid invoice again (an admin's retry: no attempt limit)."""
    with db.unit_of_work() as uow:
        invoice = _invoice(uow, invoice_id, lock=True)
        if invoice.status != InvoiceStatus.PAID:
            raise Conflict(f"Only paid invoices run their tasks; this invoice is {invoice.status}")
        for item in items_of(uow, invoice.id):
            if item.status == ItemStatus.FAILED:
                run_task(uow, item)
        uow.commit()
        return public(uow, invoice)


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
        row = _invoice(uow, invoice.id, lock=True)
        if row.status == InvoiceStatus.UNPAID and row.gateway != gateway.name:
            row.gateway = gateway.name
            row.updated_at = uow.now()
            uow.commit()
    return started


# -- reading -------------------------------------------------------------------------------


def get(db: Database, invoice_id: int, *, client_id: int | None = None) -> InvoicePublic:
    """One invoice with its lines and transactions; a client only sees their own."""
    with db.unit_of_work(read_only=True) as uow:
        return public(uow, _invoice(uow, invoice_id, client_id=client_id))


def get_by_hash(db: Database, invoice_hash: str) -> InvoicePublic:
    """The invoice behind a pay link (anyone holding the link may see and pay it)."""
    with db.unit_of_work(read_only=True) as uow:
        invoice = uow.session.scalar(select(Invoice).where(Invoice.hash == invoice_hash))
        if invoice is None:
            raise NotFound("Invoice not found")
        return public(uow, invoice)


def get_list(
    db: Database,
    *,
    page: PageRequest,
    client_id: int | None = None,
    status: str | None = None,
    order_id: int | None = None,
) -> Page[InvoicePublic]:
    """Invoices, newest first; filtered by client, status and order."""
    query = select(Invoice).order_by(Invoice.id.desc())
    if client_id is not None:
        query = query.where(Invoice.client_id == client_id)
    if status:
        statuses = tuple(s.value for s in InvoiceStatus)
        query = query.where(Invoice.status == choice(status, name="status", options=statuses))
    if order_id is not None:
        query = query.where(
            Invoice.id.in_(select(InvoiceItem.invoice_id).where(InvoiceItem.order_id == order_id))
        )
    with db.unit_of_work(read_only=True) as uow:
        total = int(
            uow.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
            or 0
        )
        rows = uow.session.scalars(
            query.offset((page.number - 1) * page.per_page).limit(page.per_page)
        ).all()
        return Page[InvoicePublic](
            list=public_many(uow, rows),
            total=total,
            page=page.number,
            per_page=page.per_page,
            pages=max(1, -(-total // page.per_page)),
        )


def public(uow: UnitOfWork, invoice: Invoice) -> InvoicePublic:
    """The invoice as the API shows it, with its lines and transactions."""
    return public_many(uow, [invoice])[0]


def public_many(uow: UnitOfWork, rows: Sequence[Invoice]) -> list[InvoicePublic]:
    """Several invoices, their lines and transactions read in two queries, not two each."""
    ids = [row.id for row in rows]
    items: dict[int, list[InvoiceItem]] = defaultdict(list)
    for item in uow.session.scalars(
        select(InvoiceItem).where(InvoiceItem.invoice_id.in_(ids)).order_by(InvoiceItem.id)
    ):
        items[item.invoice_id].append(item)
    moves: dict[int | None, list[Transaction]] = defaultdict(list)
    for move in uow.session.scalars(
        select(Transaction).where(Transaction.invoice_id.in_(ids)).order_by(Transaction.id)
    ):
        moves[move.invoice_id].append(move)
    return [InvoicePublic.of(row, items[row.id], moves[row.id]) for row in rows]


def items_of(uow: UnitOfWork, invoice_id: int) -> list[InvoiceItem]:
    return list(
        uow.session.scalars(
            select(InvoiceItem).where(InvoiceItem.invoice_id == invoice_id).order_by(InvoiceItem.id)
        ).all()
    )


def _invoice(
    uow: UnitOfWork, invoice_id: int, *, client_id: int | None = None, lock: bool = False
) -> Invoice:
    invoice = uow.session.get(Invoice, invoice_id, with_for_update=lock)
    if invoice is None or (client_id is not None and invoice.client_id != client_id):
        raise NotFound("Invoice not found")
    return invoice
