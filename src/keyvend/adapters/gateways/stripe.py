"""Stripe: a Checkout Session to pay an invoice, and refunds of the payment intent.

Stripe's word that a session was paid comes only through the signed webhook
(`api/stripe_webhook.py`), never from the return URL, which anyone can open. Every request
carries an idempotency key, so the library's retries (and ours) never charge or refund twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import stripe

from keyvend.domain.errors import GatewayError
from keyvend.domain.money import to_minor
from keyvend.domain.shop import Shop
from keyvend.schemas.business import BusinessSettings
from keyvend.schemas.invoice import InvoicePublic, PaymentStart

TIMEOUT_SECONDS = 10.0
# Connection failures, 409 and 5xx are retried with the same idempotency key.
NETWORK_RETRIES = 2


class StripeGateway:
    name = "stripe"
    title = "Card (Stripe)"

    def __init__(self, secret_key: str, *, api_base: str | None = None) -> None:
        self._secret_key = secret_key
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base or stripe.DEFAULT_API_BASE},
            http_client=stripe.HTTPXClient(timeout=TIMEOUT_SECONDS, allow_sync_methods=True),
            max_network_retries=NETWORK_RETRIES,
        )

    def start(
        self, invoice: InvoicePublic, *, shop: Shop, business: BusinessSettings
    ) -> PaymentStart:
        """A Checkout Session for the invoice's total; the client goes to its page."""
        total = to_minor(Decimal(invoice.total), invoice.currency)
        pay_page = shop.link(f"/invoice/{invoice.hash}")
        with self._calling("start the payment"):
            session = self._client.v1.checkout.sessions.create(
                {
                    "mode": "payment",
                    "client_reference_id": str(invoice.id),
                    "metadata": {"invoice_id": str(invoice.id)},
                    "line_items": [
                        {
                            "price_data": {
                                "currency": invoice.currency.lower(),
                                "unit_amount": total,
                                "product_data": {"name": f"Invoice {invoice.number}"},
                            },
                            "quantity": 1,
                        }
                    ],
                    "success_url": f"{pay_page}?paid=1",
                    "cancel_url": pay_page,
                },
                {"idempotency_key": f"keyvend-invoice-{invoice.id}-{total}"},
            )
        if not session.url:
            raise GatewayError("Stripe did not return a checkout page; please try again")
        return PaymentStart(gateway=self.name, redirect_url=session.url)

    def refund(
        self, *, payment_txn_id: str, amount: int, currency: str, idempotency_key: str
    ) -> str:
        """Refund `amount` (minor units) of the payment intent `payment_txn_id`."""
        with self._calling("refund the payment"):
            refund = self._client.v1.refunds.create(
                {"payment_intent": payment_txn_id, "amount": amount},
                {"idempotency_key": idempotency_key},
            )
        return refund.id

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        """Stripe's refusals and outages as GatewayError, with a message safe to show."""
        try:
            yield
        except stripe.APIConnectionError:
            raise GatewayError(f"Stripe could not be reached to {what}; please try again") from None
        except stripe.StripeError as exc:
            status = f" (HTTP {exc.http_status})" if exc.http_status else ""
            reason = exc.user_message or "no reason given"
            message = f"Stripe refused to {what}{status}: {reason}"
            raise GatewayError(message.replace(self._secret_key, "[secret key]")) from None
