"""Invoices (FOSSBilling's `invoice` module): issuing with gap-free numbers, renewal
invoices, canceling, reading. Paying and refunding are `services.payment`'s."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from keyvend.db.models import Client, Counter, Invoice, InvoiceItem, Order, Transaction
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, NotFound
from keyvend.domain.fields import choice
from keyvend.domain.invoice_states import (
    InvoiceStatus,
    ItemStatus,
    ItemTask,
    next_invoice_status,
)
from keyvend.domain.money import label, tax_of, tax_rate_text, to_minor
from keyvend.domain.order_states import NO_PERIOD, OrderStatus
from keyvend.domain.vault import new_token
from keyvend.schemas.common import Page
from keyvend.schemas.invoice import InvoicePublic
from keyvend.services import business_settings
from keyvend.services.pagination import PageRequest, paginate_with

NUMBER_PREFIX = "KV-"
FREE_RENEWAL = "This order is free, so it has no renewal invoice; an admin renews it"


@dataclass(frozen=True)
class Line:
    """What to bill for one order, and what paying it does."""

    order: Order
    task: ItemTask
    unit_price: Decimal
    quantity: int = 1


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


def cancel(db: Database, invoice_id: int) -> bool:
    """Cancel an unpaid invoice; its orders keep their state."""
    with db.unit_of_work() as uow:
        invoice = find(uow, invoice_id, lock=True)
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


# -- reading -------------------------------------------------------------------------------


def get(db: Database, invoice_id: int, *, client_id: int | None = None) -> InvoicePublic:
    """One invoice with its lines and transactions; a client only sees their own."""
    with db.unit_of_work(read_only=True) as uow:
        return public(uow, find(uow, invoice_id, client_id=client_id))


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
        return paginate_with(uow, query, page, lambda rows: public_many(uow, rows))


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


def find(
    uow: UnitOfWork, invoice_id: int, *, client_id: int | None = None, lock: bool = False
) -> Invoice:
    invoice = uow.session.get(Invoice, invoice_id, with_for_update=lock)
    if invoice is None or (client_id is not None and invoice.client_id != client_id):
        raise NotFound("Invoice not found")
    return invoice
