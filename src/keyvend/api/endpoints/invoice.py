"""invoice: list, read, pay and refund invoices (admin); your invoices (client); the pay
link's invoice and its payment (guest)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from keyvend.api.endpoints.fields import Gateway, Id, IdParams, ListParams, Note, Short
from keyvend.api.registry import Call, NoParams, Params, endpoint
from keyvend.schemas.common import Page
from keyvend.schemas.invoice import GatewayPublic, InvoicePublic, PaymentStart
from keyvend.services import invoice
from keyvend.services import payment as payments

Hash = Annotated[str, Field(min_length=1, max_length=64, description="The pay link's hash.")]


class InvoiceListParams(ListParams):
    status: Short | None = None
    client_id: Id | None = None
    order_id: Id | None = None


class ClientInvoiceListParams(ListParams):
    status: Short | None = None


class MarkPaidParams(Params):
    id: Id
    transaction_id: Short | None = None
    note: Note | None = None


class RefundParams(Params):
    id: Id
    note: Note | None = None


class OrderParams(Params):
    order_id: Id


class HashParams(Params):
    hash: Hash


class PaymentParams(Params):
    hash: Hash
    gateway: Gateway


@endpoint("admin", "invoice", "get_list", InvoiceListParams)
def get_list(call: Call, p: InvoiceListParams) -> Page[InvoicePublic]:
    """Invoices, newest first, filtered by status, client or order."""
    return invoice.get_list(
        call.db, page=p.page_spec(), status=p.status, client_id=p.client_id, order_id=p.order_id
    )


@endpoint("admin", "invoice", "get", IdParams)
def get(call: Call, p: IdParams) -> InvoicePublic:
    """One invoice with its items and transactions."""
    return invoice.get(call.db, p.id)


@endpoint("admin", "invoice", "mark_as_paid", MarkPaidParams)
def mark_as_paid(call: Call, p: MarkPaidParams) -> bool:
    """Record that an unpaid invoice was paid (a bank transfer arrived); runs its tasks."""
    return payments.mark_as_paid(call.db, p.id, transaction_id=p.transaction_id, note=p.note)


@endpoint("admin", "invoice", "refund", RefundParams, gateway=True)
def refund(call: Call, p: RefundParams) -> bool:
    """Refund a paid invoice (through Stripe when Stripe took the money)."""
    return payments.refund(call.db, p.id, call.gateways, note=p.note)


@endpoint("admin", "invoice", "cancel", IdParams)
def cancel(call: Call, p: IdParams) -> bool:
    """Cancel an unpaid invoice."""
    return invoice.cancel(call.db, p.id)


@endpoint("admin", "invoice", "renewal_invoice", OrderParams)
def renewal_invoice(call: Call, p: OrderParams) -> int:
    """The order's unpaid renewal invoice id, issued now if there is none."""
    return invoice.renewal_invoice(call.db, p.order_id)


@endpoint("admin", "invoice", "retry_tasks", IdParams)
def retry_tasks(call: Call, p: IdParams) -> InvoicePublic:
    """Run the failed tasks (activate, renew) of a paid invoice again."""
    return payments.retry_tasks(call.db, p.id)


@endpoint("client", "invoice", "get_list", ClientInvoiceListParams)
def client_list(call: Call, p: ClientInvoiceListParams) -> Page[InvoicePublic]:
    """Your invoices, newest first."""
    return invoice.get_list(call.db, page=p.page_spec(), status=p.status, client_id=call.actor_id)


@endpoint("client", "invoice", "get", IdParams)
def client_get(call: Call, p: IdParams) -> InvoicePublic:
    """One of your invoices."""
    return invoice.get(call.db, p.id, client_id=call.actor_id)


@endpoint("client", "invoice", "renewal_invoice", OrderParams)
def client_renewal_invoice(call: Call, p: OrderParams) -> int:
    """Renew now: the id of your order's unpaid renewal invoice, issued if needed."""
    return invoice.renewal_invoice(call.db, p.order_id, client_id=call.actor_id)


@endpoint("guest", "invoice", "get", HashParams)
def guest_get(call: Call, p: HashParams) -> InvoicePublic:
    """The invoice behind a pay link."""
    return invoice.get_by_hash(call.db, p.hash)


@endpoint("guest", "invoice", "gateways")
def gateways(call: Call, p: NoParams) -> list[GatewayPublic]:
    """The payment gateways on offer: [{name, title}]."""
    return call.gateways.public()


@endpoint("guest", "invoice", "payment", PaymentParams, gateway=True)
def payment(call: Call, p: PaymentParams) -> PaymentStart:
    """Start paying an invoice: {gateway, redirect_url} (Stripe) or {gateway, instructions}."""
    return payments.start_payment(call.db, call.gateways, p.hash, p.gateway)
