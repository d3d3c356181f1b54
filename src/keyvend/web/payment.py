"""Paying an invoice from a page (the client's invoice page and the pay link alike): the
chosen gateway starts the payment, and its answer either sends the payer on to the gateway's
page (Stripe) or is shown on the invoice (bank transfer instructions)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

from keyvend.domain.errors import KeyvendError
from keyvend.schemas.invoice import InvoicePublic
from keyvend.services import payment as payments
from keyvend.web.error_pages import status_of
from keyvend.web.page import Ctx
from keyvend.web.security_headers import forms_may_lead_to

STRIPE_CHECKOUT = "https://checkout.stripe.com"


def pay(ctx: Ctx, found: InvoicePublic, *, template: str, pay_action: str) -> Response:
    """Start paying `found` with the gateway the form chose; a refusal shows the invoice
    again with its reason."""
    gateway = ctx.form.get("gateway", "")[:32]
    try:
        started = payments.start_payment(ctx.db, ctx.gateways, found.hash, gateway)
    except KeyvendError as exc:
        return invoice_page(ctx, found, template=template, pay_action=pay_action, error=exc)
    if started.redirect_url:
        return ctx.redirect(started.redirect_url)
    return invoice_page(
        ctx, found, template=template, pay_action=pay_action, instructions=started.instructions
    )


def invoice_page(
    ctx: Ctx,
    found: InvoicePublic,
    *,
    template: str,
    pay_action: str,
    instructions: str | None = None,
    error: KeyvendError | None = None,
    **context: Any,
) -> Response:
    """An invoice with its Pay buttons (one per gateway), posting to `pay_action`; the bank
    instructions stay shown once the client chose bank transfer."""
    if instructions is None and error is None:
        instructions = payments.standing_instructions(ctx.db, ctx.gateways, found)
    response = ctx.render(
        template,
        status=status_of(error) if error else 200,
        title=f"Invoice {found.number}",
        inv=found,
        gateways=ctx.gateways.public(),
        pay_action=pay_action,
        instructions=instructions,
        error=error.message if error else None,
        **context,
    )
    response.headers.update(_headers(ctx))
    return response


def _headers(ctx: Ctx) -> dict[str, str]:
    """A Pay form may lead on to Stripe's checkout (or, in tests, the fake Stripe server's)."""
    origins = [STRIPE_CHECKOUT]
    if ctx.settings.stripe_api_base:
        parts = urlsplit(ctx.settings.stripe_api_base)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return forms_may_lead_to(origins)
