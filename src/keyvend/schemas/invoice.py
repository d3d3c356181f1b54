"""Invoices, their lines and transactions as the API shows them; amounts as strings in the
invoice's currency (`"19.00"`, `"1900"` for JPY)."""

from __future__ import annotations

from typing import Any

from keyvend.db.models import Invoice, InvoiceItem, Transaction
from keyvend.domain.invoice_states import (
    InvoiceStatus,
    ItemStatus,
    ItemTask,
    TransactionStatus,
    TransactionType,
)
from keyvend.domain.money import show
from keyvend.schemas.common import Schema, Timestamp


class InvoiceItemPublic(Schema):
    id: int
    order_id: int | None
    title: str
    period: str | None
    quantity: int
    unit_price: str
    total: str
    task: ItemTask
    status: ItemStatus
    attempts: int
    error: str | None

    @classmethod
    def of(cls, item: InvoiceItem, currency: str) -> InvoiceItemPublic:
        return cls(
            id=item.id,
            order_id=item.order_id,
            title=item.title,
            period=item.period,
            quantity=item.quantity,
            unit_price=show(item.unit_price, currency),
            total=show(item.total, currency),
            task=item.task,
            status=item.status,
            attempts=item.attempts,
            error=item.error,
        )


class TransactionPublic(Schema):
    id: int
    invoice_id: int | None
    gateway: str
    type: TransactionType
    txn_id: str
    status: TransactionStatus
    amount: str | None
    currency: str | None
    note: str
    error: str | None
    created_at: Timestamp

    @classmethod
    def of(cls, row: Transaction) -> TransactionPublic:
        amount = show(row.amount, row.currency) if row.amount is not None and row.currency else None
        return cls(
            id=row.id,
            invoice_id=row.invoice_id,
            gateway=row.gateway,
            type=row.type,
            txn_id=row.txn_id,
            status=row.status,
            amount=amount,
            currency=row.currency,
            note=row.note,
            error=row.error,
            created_at=row.created_at,
        )


class InvoicePublic(Schema):
    id: int
    number: str
    hash: str
    client_id: int | None
    status: InvoiceStatus
    currency: str
    subtotal: str
    tax_name: str
    tax_rate: str
    tax: str
    total: str
    gateway: str | None
    due_at: Timestamp
    paid_at: Timestamp | None
    created_at: Timestamp
    seller: dict[str, Any]
    buyer: dict[str, Any]
    items: list[InvoiceItemPublic]
    transactions: list[TransactionPublic]

    @classmethod
    def of(
        cls, row: Invoice, items: list[InvoiceItem], transactions: list[Transaction]
    ) -> InvoicePublic:
        money = row.currency
        return cls(
            id=row.id,
            number=row.number,
            hash=row.hash,
            client_id=row.client_id,
            status=row.status,
            currency=money,
            subtotal=show(row.subtotal, money),
            tax_name=row.tax_name,
            tax_rate=row.tax_rate,
            tax=show(row.tax, money),
            total=show(row.total, money),
            gateway=row.gateway,
            due_at=row.due_at,
            paid_at=row.paid_at,
            created_at=row.created_at,
            seller=dict(row.seller),
            buyer=dict(row.buyer),
            items=[InvoiceItemPublic.of(item, money) for item in items],
            transactions=[TransactionPublic.of(t) for t in transactions],
        )


class GatewayPublic(Schema):
    """A payment gateway a client may choose."""

    name: str
    title: str


class PaymentStart(Schema):
    """How to pay an invoice: go to `redirect_url` (Stripe) or follow `instructions` (bank)."""

    gateway: str
    redirect_url: str | None = None
    instructions: str | None = None
