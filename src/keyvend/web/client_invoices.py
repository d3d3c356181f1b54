"""The client area's invoices: my invoices, an invoice (printable) with its Pay buttons, and
"Renew now" on a service, which opens the service's renewal invoice."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.schemas.invoice import InvoicePublic
from keyvend.services import invoice
from keyvend.services.pagination import PageRequest
from keyvend.web import payment
from keyvend.web.page import Ctx, page

PER_PAGE = 50
TEMPLATE = "client/invoice.html"


@page("client")
def invoice_list(ctx: Ctx) -> Response:
    """My invoices, newest first."""
    result = invoice.get_list(
        ctx.db, page=PageRequest(ctx.page_number(), PER_PAGE), client_id=ctx.actor_id
    )
    return ctx.render("client/invoices.html", title="Invoices", result=result)


@page("client")
def view_invoice(ctx: Ctx) -> Response:
    """One of my invoices, printable, with a Pay button per gateway while it is unpaid."""
    found = invoice.get(ctx.db, ctx.path_int("id"), client_id=ctx.actor_id)
    return payment.invoice_page(ctx, found, template=TEMPLATE, pay_action=_pay_action(found))


@page("client")
def pay(ctx: Ctx) -> Response:
    """Pay my invoice: on to the gateway's page (Stripe), or its bank instructions shown."""
    found = invoice.get(ctx.db, ctx.path_int("id"), client_id=ctx.actor_id)
    return payment.pay(ctx, found, template=TEMPLATE, pay_action=_pay_action(found))


def _pay_action(found: InvoicePublic) -> str:
    return f"/invoices/{found.id}/pay"


@page("client")
def renew(ctx: Ctx) -> Response:
    """Renew my service now: its unpaid renewal invoice, issued if there is none yet."""
    order_id = ctx.path_int("id")
    invoice_id = invoice.renewal_invoice(ctx.db, order_id, client_id=ctx.actor_id)
    return ctx.redirect(
        f"/invoices/{invoice_id}", "Here is the renewal invoice: paying it renews the service."
    )


def routes() -> list[Route]:
    return [
        Route("/invoices", invoice_list, methods=["GET"]),
        Route("/invoices/{id:id}", view_invoice, methods=["GET"]),
        Route("/invoices/{id:id}/pay", pay, methods=["POST"]),
        Route("/services/{id:id}/renew", renew, methods=["POST"]),
    ]
