"""Bank transfer: the client is shown the seller's instructions; an admin marks it paid."""

from __future__ import annotations

from keyvend.domain.shop import Shop
from keyvend.schemas.business import BusinessSettings
from keyvend.schemas.invoice import InvoicePublic, PaymentStart


class BankTransfer:
    name = "bank_transfer"
    title = "Bank transfer"

    def start(
        self, invoice: InvoicePublic, *, shop: Shop, business: BusinessSettings
    ) -> PaymentStart:
        return PaymentStart(gateway=self.name, instructions=instructions(invoice, business))

    def refund(
        self, *, payment_txn_id: str, amount: int, currency: str, idempotency_key: str
    ) -> str:
        # The money goes back by hand, as it came: the refund is recorded under this key.
        return idempotency_key


def instructions(invoice: InvoicePublic, business: BusinessSettings) -> str:
    """The business's bank-transfer text with this invoice's number, total and due date."""
    return business.bank_transfer_instructions.format(
        number=invoice.number,
        total=f"{invoice.total} {invoice.currency}",
        due_date=invoice.due_at.date().isoformat(),
        company_name=business.company_name,
    )
