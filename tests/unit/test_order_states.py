"""The order state machine: FOSSBilling's statuses and which action may leave which status."""

from __future__ import annotations

import itertools

import pytest

from keyvend.domain.errors import Conflict
from keyvend.domain.order_states import TRANSITIONS, OrderStatus, next_status

PENDING, ACTIVE, SUSPENDED, CANCELED, FAILED_SETUP, FAILED_RENEW = (
    "pending_setup",
    "active",
    "suspended",
    "canceled",
    "failed_setup",
    "failed_renew",
)

# The whole machine, written out by hand: (action, from) -> to. Every other pair is refused.
ALLOWED = {
    ("activate", PENDING): ACTIVE,
    ("activate", FAILED_SETUP): ACTIVE,
    ("renew", ACTIVE): ACTIVE,
    ("renew", SUSPENDED): ACTIVE,
    ("renew", FAILED_RENEW): ACTIVE,
    ("suspend", ACTIVE): SUSPENDED,
    ("unsuspend", SUSPENDED): ACTIVE,
    ("cancel", PENDING): CANCELED,
    ("cancel", ACTIVE): CANCELED,
    ("cancel", SUSPENDED): CANCELED,
    ("cancel", FAILED_SETUP): CANCELED,
    ("cancel", FAILED_RENEW): CANCELED,
    ("uncancel", CANCELED): ACTIVE,
}
ACTIONS = ("activate", "renew", "suspend", "unsuspend", "cancel", "uncancel")
STATUSES = (PENDING, ACTIVE, SUSPENDED, CANCELED, FAILED_SETUP, FAILED_RENEW)
REFUSED = [pair for pair in itertools.product(ACTIONS, STATUSES) if pair not in ALLOWED]


def test_the_statuses_are_fossbillings_six() -> None:
    assert sorted(s.value for s in OrderStatus) == sorted(STATUSES)


def test_the_actions_are_the_six_lifecycle_actions() -> None:
    assert set(TRANSITIONS) == set(ACTIONS)


@pytest.mark.parametrize(("action", "current"), list(ALLOWED))
def test_an_allowed_action_leads_to_its_status(action: str, current: str) -> None:
    assert next_status(action, current) == ALLOWED[action, current]


@pytest.mark.parametrize(("action", "current"), REFUSED)
def test_every_other_action_is_refused_as_a_conflict_naming_the_current_status(
    action: str, current: str
) -> None:
    with pytest.raises(Conflict) as caught:
        next_status(action, current)
    assert caught.value.message.endswith(f"; this order is {current}")
    assert caught.value.code == 9999


def test_a_refusal_says_which_statuses_the_action_needs() -> None:
    with pytest.raises(Conflict) as caught:
        next_status("activate", ACTIVE)
    assert caught.value.message == (
        "Only orders that are failed_setup or pending_setup can be activated; this order is active"
    )


def test_suspending_a_canceled_order_is_refused_in_plain_words() -> None:
    with pytest.raises(Conflict) as caught:
        next_status("suspend", CANCELED)
    assert caught.value.message == (
        "Only orders that are active can be suspended; this order is canceled"
    )


def test_next_status_accepts_the_enum_as_well_as_its_text() -> None:
    assert next_status("suspend", OrderStatus.ACTIVE) == OrderStatus.SUSPENDED
    assert next_status("suspend", "active") == "suspended"
