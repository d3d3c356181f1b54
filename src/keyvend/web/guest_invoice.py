"""The pay link `/invoice/{hash}`: anyone holding it sees the invoice and may pay it, logged
in or not (the random hash is the secret). Stripe sends the payer back here with `?paid=1`."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import NotFound
from keyvend.schemas.invoice import InvoicePublic
from keyvend.services import invoice
from keyvend.web import payment
from keyvend.web.page import Ctx, page

MAX_HASH = 64
TEMPLATE = "invoice.html"


@page(None)
def view(ctx: Ctx) -> Response:
    """The invoice behind a pay link, its status and its Pay buttons."""
    found = _invoice(ctx)
    return payment.invoice_page(
        ctx,
        found,
        template=TEMPLATE,
        pay_action=_pay_action(found),
        returned=ctx.query("paid") == "1",
    )


@page(None)
def pay(ctx: Ctx) -> Response:
    """Pay the invoice behind a pay link with the chosen gateway."""
    found = _invoice(ctx)
    return payment.pay(ctx, found, template=TEMPLATE, pay_action=_pay_action(found))


def _invoice(ctx: Ctx) -> InvoicePublic:
    value = str(ctx.request.path_params["hash"])
    if len(value) > MAX_HASH:
        raise NotFound("Invoice not found")
    return invoice.get_by_hash(ctx.db, value)


def _pay_action(found: InvoicePublic) -> str:
    return f"/invoice/{found.hash}/pay"


def routes() -> list[Route]:
    return [
        Route("/invoice/{hash:str}", view, methods=["GET"]),
        Route("/invoice/{hash:str}/pay", pay, methods=["POST"]),
    ]
