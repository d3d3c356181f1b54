"""The invoice status rules and their texts."""

from __future__ import annotations

import pytest

from keyvend.domain.errors import Conflict
from keyvend.domain.invoice_states import (
    INVOICE_TRANSITIONS,
    InvoiceStatus,
    ItemStatus,
    ItemTask,
    next_invoice_status,
)

S = InvoiceStatus
# action -> {status it may start from: status it leads to}; every other pair is refused.
ALLOWED = {
    "pay": {S.UNPAID: S.PAID},
    "refund": {S.PAID: S.REFUNDED},
    "cancel": {S.UNPAID: S.CANCELED},
}
PAIRS = [(action, status) for action in ALLOWED for status in S]
REFUSALS = {
    "pay": "Only unpaid invoices can be paid; this invoice is {}",
    "refund": "Only paid invoices can be refunded; this invoice is {}",
    "cancel": "Only unpaid invoices can be canceled; this invoice is {}",
}


def test_the_table_holds_exactly_the_three_actions() -> None:
    assert set(INVOICE_TRANSITIONS) == set(ALLOWED)


@pytest.mark.parametrize(("action", "status"), PAIRS)
def test_each_action_leads_where_the_table_says_or_is_refused(
    action: str, status: InvoiceStatus
) -> None:
    target = ALLOWED[action].get(status)
    if target is not None:
        assert next_invoice_status(action, status) == target
        assert next_invoice_status(action, status.value) == target
    else:
        with pytest.raises(Conflict) as refused:
            next_invoice_status(action, status)
        assert refused.value.message == REFUSALS[action].format(status.value)


def test_paid_refunded_and_canceled_invoices_cannot_be_paid_again() -> None:
    for status in (S.PAID, S.REFUNDED, S.CANCELED):
        with pytest.raises(Conflict, match="Only unpaid invoices can be paid"):
            next_invoice_status("pay", status)


def test_statuses_tasks_and_item_statuses_have_the_design_names() -> None:
    assert [s.value for s in InvoiceStatus] == ["unpaid", "paid", "refunded", "canceled"]
    assert [t.value for t in ItemTask] == ["activate", "renew", "none"]
    assert [s.value for s in ItemStatus] == ["pending_payment", "executed", "failed"]
