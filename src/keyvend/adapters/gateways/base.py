"""The one interface every payment gateway implements, and the registry of those enabled."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from keyvend.domain.errors import InvalidInput
from keyvend.domain.shop import Shop
from keyvend.schemas.business import BusinessSettings
from keyvend.schemas.invoice import GatewayPublic, InvoicePublic, PaymentStart


class Gateway(Protocol):
    """A way to pay: its name and title, how a payment starts, and how money goes back.

    A gateway that reports payments asynchronously (Stripe's webhook) hands them to
    `services.payments.record_payment`, which pays an invoice once however often it is told.
    """

    name: str
    title: str

    def start(
        self, invoice: InvoicePublic, *, shop: Shop, business: BusinessSettings
    ) -> PaymentStart:
        """Begin paying `invoice`: a page to send the client to, or instructions to show."""
        ...

    def refund(
        self, *, payment_txn_id: str, amount: int, currency: str, idempotency_key: str
    ) -> str:
        """Give back `amount` (minor units) of payment `payment_txn_id`; the refund's id.

        The same idempotency key twice refunds once. Raise GatewayError when refused."""
        ...


class Gateways:
    """The gateways this server offers, by name, in the order clients see them."""

    def __init__(self, gateways: Iterable[Gateway]) -> None:
        self._by_name = {gateway.name: gateway for gateway in gateways}

    def get(self, name: str) -> Gateway:
        """The enabled gateway called `name`, or InvalidInput naming those there are."""
        found = self._by_name.get(name)
        if found is None:
            raise InvalidInput(
                f"gateway must be one of {', '.join(self._by_name)}", field="gateway"
            )
        return found

    def find(self, name: str) -> Gateway | None:
        return self._by_name.get(name)

    def public(self) -> list[GatewayPublic]:
        return [GatewayPublic(name=g.name, title=g.title) for g in self._by_name.values()]
