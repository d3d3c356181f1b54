"""The order state machine: FOSSBilling's statuses and which action may leave which status."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyvend.domain.errors import Conflict
from keyvend.domain.order_states import (
    TRANSITIONS,
    Action,
    OrderStatus,
    allowed_actions,
    is_valid,
    next_status,
)

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


def test_renewing_needs_a_billing_period() -> None:
    assert next_status("renew", ACTIVE, has_period=True) == ACTIVE
    with pytest.raises(Conflict, match="no billing period"):
        next_status("renew", ACTIVE, has_period=False)


def test_uncanceling_an_order_never_activated_takes_it_back_to_pending_setup() -> None:
    assert next_status("uncancel", CANCELED, activated=False) == PENDING
    assert next_status("uncancel", CANCELED, activated=True) == ACTIVE


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("has_period", [True, False])
def test_allowed_actions_are_exactly_those_the_machine_allows(
    current: str, has_period: bool
) -> None:
    expected = [a for a in ACTIONS if (a, current) in ALLOWED and (a != "renew" or has_period)]
    assert [a.value for a in allowed_actions(current, has_period=has_period)] == expected


def test_the_action_enum_names_the_six_actions_and_their_hooks() -> None:
    assert [a.value for a in Action] == list(ACTIONS)


NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@given(
    enabled=st.booleans(),
    status=st.sampled_from(STATUSES),
    expires_in=st.one_of(st.none(), st.integers(min_value=-10_000, max_value=10_000)),
)
def test_a_key_is_valid_only_when_enabled_active_and_not_expired(
    enabled: bool, status: str, expires_in: int | None
) -> None:
    expires_at = None if expires_in is None else NOW + timedelta(seconds=expires_in)
    expected = enabled and status == ACTIVE and (expires_at is None or expires_at > NOW)
    assert is_valid(enabled=enabled, status=status, expires_at=expires_at, clock=lambda: NOW) == (
        expected
    )


def test_validity_reads_the_clock_only_for_keys_that_can_expire() -> None:
    def no_clock() -> datetime:
        raise AssertionError("the clock was read")

    assert is_valid(enabled=True, status=ACTIVE, expires_at=None, clock=no_clock)
    assert not is_valid(enabled=False, status=ACTIVE, expires_at=NOW, clock=no_clock)
