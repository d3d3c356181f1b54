"""`POST /webhooks/stripe`: Stripe's word that a Checkout Session was paid.

The signature proves the event is Stripe's and at most 300 s old; `record_payment` then pays
the invoice once however often, or however many times at once, Stripe delivers the event.
Stripe retries anything but a 2xx for days, so a payment we refuse (unknown invoice, wrong
amount or currency) is recorded as an error transaction and acknowledged, and only a failure
to record it (the database is down) answers 503, to have it delivered again.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import stripe
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.responses import JSONResponse

from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import ServiceUnavailable
from keyvend.edge.off_loop import in_thread
from keyvend.services import payment as payments
from keyvend.services.payment import PaymentReport

log = logging.getLogger("keyvend.stripe")
TOLERANCE_SECONDS = 300
PAID_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
_INVOICE_ID = re.compile(r"[1-9][0-9]{0,9}")
MAX_ID = 2**31 - 1  # the invoices' id column; a larger number names no invoice
RETRY_AFTER_SECONDS = 30


class Refused(Exception):
    """A delivery we cannot trust or read: answered 400, nothing changes."""


async def stripe_webhook(request: Request) -> JSONResponse:
    """Verify a Stripe event; a paid Checkout Session pays its invoice, once."""
    settings: Settings = request.app.state.settings
    secret = settings.stripe_webhook_secret
    if not settings.stripe_enabled or secret is None:
        return JSONResponse({"error": "Stripe is not configured"}, status_code=404)
    try:
        event = verified_event(
            await request.body(), request.headers.get("stripe-signature"), secret.get_secret_value()
        )
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    report = payment_report(event)
    if report is None:
        return JSONResponse({"received": True, "outcome": "ignored"})
    db: Database = request.app.state.db
    try:
        outcome = await in_thread(db, functools.partial(payments.record_payment, db, report))
    except Exception as exc:
        return _unrecorded(exc, report)
    log.info("stripe payment %s", outcome, extra={"stripe_event": report.note})
    return JSONResponse({"received": True, "outcome": outcome})


def verified_event(payload: bytes, header: str | None, secret: str) -> dict[str, Any]:
    """The event, once its signature proves it Stripe's and at most 300 s old; else Refused."""
    if not header:
        raise Refused("Missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(payload, header, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise Refused(f"Invalid signature: {exc.user_message}") from None
    except (ValueError, AttributeError, TypeError):  # signed, but not JSON or not an event
        raise Refused("The body is not a Stripe event") from None
    found: dict[str, Any] = event.to_dict()
    return found


def _unrecorded(exc: Exception, report: PaymentReport) -> JSONResponse:
    """503, so that Stripe delivers the payment again; an outage is logged in one line,
    anything else with its traceback (never the request's body or signature)."""
    where = {"stripe_event": report.note, "txn_id": report.txn_id}
    if isinstance(exc, ServiceUnavailable | OperationalError | InterfaceError | PoolTimeout):
        log.error("stripe payment not recorded: %s", type(exc).__name__, extra=where)
    else:
        log.exception("stripe payment not recorded", extra=where)
    return JSONResponse(
        {"error": "The payment could not be recorded; please retry"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def payment_report(event: dict[str, Any]) -> PaymentReport | None:
    """The payment a paid Checkout Session event reports; None for any other event."""
    if event.get("type") not in PAID_EVENTS:
        return None
    session = _mapping(_mapping(event.get("data")).get("object"))
    if session.get("payment_status") != "paid":
        return None  # an async payment method: `async_payment_succeeded` follows
    intent = session.get("payment_intent")
    if isinstance(intent, dict):  # expanded
        intent = intent.get("id")
    txn_id = _text(intent) or _text(session.get("id"))
    if txn_id is None:
        return None
    amount = session.get("amount_total")
    return PaymentReport(
        gateway="stripe",
        txn_id=txn_id,
        invoice_id=_invoice_id(session.get("client_reference_id")),
        amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency=_text(session.get("currency")),
        note=_text(event.get("id")) or "",
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _invoice_id(value: object) -> int | None:
    """The invoice id a session names, or None when it names none we could have issued."""
    if not isinstance(value, str) or not _INVOICE_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None
