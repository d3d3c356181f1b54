"""Admin pages for invoices: the list (by status and client), and an invoice's page with its
lines, transactions and the buttons mark paid, refund, cancel and retry tasks."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError, NotFound
from keyvend.domain.invoice_states import InvoiceStatus
from keyvend.services import client, invoice
from keyvend.services import payment as payments
from keyvend.services.pagination import PageRequest
from keyvend.web.error_pages import status_of
from keyvend.web.forms import checked, is_number
from keyvend.web.page import Ctx, page

PER_PAGE = 50
CHOICES = 500
STATUSES = tuple(s.value for s in InvoiceStatus)
STATUS_CHOICES = [("", "Any status"), *[(s, s.capitalize()) for s in STATUSES]]


@page("admin")
def invoice_list(ctx: Ctx) -> Response:
    """Invoices, newest first, filtered by status and client."""
    status = ctx.query("status") if ctx.query("status") in STATUSES else ""
    client_text = ctx.query("client_id") if is_number(ctx.query("client_id")) else ""
    result = invoice.get_list(
        ctx.db,
        page=PageRequest(ctx.page_number(), PER_PAGE),
        status=status or None,
        client_id=int(client_text) if client_text else None,
    )
    clients = client.get_list(ctx.db, page=PageRequest(1, CHOICES)).list
    return ctx.render(
        "admin/invoices.html",
        title="Invoices",
        result=result,
        status_filter=status,
        client_filter=client_text,
        statuses=STATUS_CHOICES,
        clients=[("", "Any client"), *[(str(c.id), c.email) for c in clients]],
    )


@page("admin")
def view_invoice(ctx: Ctx) -> Response:
    """An invoice: seller, buyer, lines with their tasks, transactions, and its actions."""
    return _invoice_page(ctx, ctx.path_int("id"))


def _invoice_page(ctx: Ctx, invoice_id: int, *, error: KeyvendError | None = None) -> Response:
    found = invoice.get(ctx.db, invoice_id)
    return ctx.render(
        "admin/invoice.html",
        status=status_of(error) if error else 200,
        title=f"Invoice {found.number}",
        inv=found,
        failed=any(item.status == "failed" for item in found.items),
        pay_link=ctx.db.shop.link(f"/invoice/{found.hash}"),
        error=error.message if error else None,
    )


@page("admin")
def mark_paid(ctx: Ctx) -> Response:
    """Record a payment that arrived (a bank transfer), with its transaction id and a note."""
    transaction_id = ctx.form.get("transaction_id", "").strip() or None
    note = ctx.form.get("note", "").strip() or None
    return _act(
        ctx,
        lambda i: payments.mark_as_paid(ctx.db, i, transaction_id=transaction_id, note=note),
        "Invoice marked paid.",
    )


@page("admin")
def refund(ctx: Ctx) -> Response:
    """Refund a paid invoice (through Stripe when Stripe took the money), after confirmation."""
    note = ctx.form.get("note", "").strip() or None
    return _act(
        ctx,
        lambda i: payments.refund(ctx.db, i, ctx.gateways, note=note),
        "Invoice refunded. Its orders keep their status: cancel them if their keys should stop.",
        confirm=True,
    )


@page("admin")
def cancel(ctx: Ctx) -> Response:
    """Cancel an unpaid invoice, after confirmation."""
    return _act(ctx, lambda i: invoice.cancel(ctx.db, i), "Invoice canceled.", confirm=True)


@page("admin")
def retry(ctx: Ctx) -> Response:
    """Run the failed tasks of a paid invoice again."""
    return _act(ctx, lambda i: payments.retry_tasks(ctx.db, i), "The failed tasks were run again.")


def _act(ctx: Ctx, run: Callable[[int], object], done: str, *, confirm: bool = False) -> Response:
    """Run an action on the invoice of the path; a refusal shows the invoice with its reason."""
    invoice_id = ctx.path_int("id")
    try:
        if confirm and not checked(ctx.form, "confirm"):
            raise InvalidInput("Confirm first: tick the box next to the button.")
        run(invoice_id)
    except NotFound:
        raise
    except KeyvendError as exc:
        return _invoice_page(ctx, invoice_id, error=exc)
    return ctx.redirect(f"/admin/invoices/{invoice_id}", done)


def routes() -> list[Route]:
    return [
        Route("/admin/invoices", invoice_list, methods=["GET"]),
        Route("/admin/invoices/{id:id}", view_invoice, methods=["GET"]),
        Route("/admin/invoices/{id:id}/paid", mark_paid, methods=["POST"]),
        Route("/admin/invoices/{id:id}/refund", refund, methods=["POST"]),
        Route("/admin/invoices/{id:id}/cancel", cancel, methods=["POST"]),
        Route("/admin/invoices/{id:id}/retry", retry, methods=["POST"]),
    ]
