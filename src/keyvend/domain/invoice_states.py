"""Invoice statuses and the rules between them, and the tasks an invoice line carries."""

from __future__ import annotations

from enum import StrEnum

from keyvend.domain.errors import Conflict

MAX_TASK_ATTEMPTS = 3  # the cron retries a failed task this often; an admin may retry more
NON_PAYMENT = "Non-payment"  # the reason of a suspension for an unpaid invoice
EXPIRED_REASON = "Expired"  # the reason (then a date) of a suspension for expiry


class InvoiceStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    REFUNDED = "refunded"
    CANCELED = "canceled"


class ItemTask(StrEnum):
    """What paying a line does to its order."""

    ACTIVATE = "activate"
    RENEW = "renew"
    NONE = "none"


class ItemStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    EXECUTED = "executed"
    FAILED = "failed"


class TransactionType(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


class TransactionStatus(StrEnum):
    PROCESSED = "processed"  # the money paid (or refunded) the invoice
    ERROR = "error"  # recorded, but it did not pay the invoice (see its error)


# action -> (statuses it may start from, status it leads to)
INVOICE_TRANSITIONS: dict[str, tuple[frozenset[InvoiceStatus], InvoiceStatus]] = {
    "pay": (frozenset({InvoiceStatus.UNPAID}), InvoiceStatus.PAID),
    "refund": (frozenset({InvoiceStatus.PAID}), InvoiceStatus.REFUNDED),
    "cancel": (frozenset({InvoiceStatus.UNPAID}), InvoiceStatus.CANCELED),
}
_VERBS = {"pay": "paid", "refund": "refunded", "cancel": "canceled"}


def next_invoice_status(action: str, current: str) -> InvoiceStatus:
    """The status `action` leads to from `current`; Conflict with a clear text if forbidden."""
    allowed, target = INVOICE_TRANSITIONS[action]
    if current not in allowed:
        names = " or ".join(sorted(s.value for s in allowed))
        raise Conflict(f"Only {names} invoices can be {_VERBS[action]}; this invoice is {current}")
    return target
