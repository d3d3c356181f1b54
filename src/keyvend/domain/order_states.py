"""The order state machine, with FOSSBilling's statuses and allowed transitions, and the
rule that says whether an order's key is valid."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from keyvend.domain.errors import Conflict


class OrderStatus(StrEnum):
    PENDING_SETUP = "pending_setup"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELED = "canceled"
    FAILED_SETUP = "failed_setup"
    FAILED_RENEW = "failed_renew"


class Action(StrEnum):
    """The lifecycle actions; each is also the name of the product type's hook."""

    ACTIVATE = "activate"
    RENEW = "renew"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"
    CANCEL = "cancel"
    UNCANCEL = "uncancel"


S = OrderStatus

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[OrderStatus], OrderStatus]] = {
    Action.ACTIVATE: (frozenset({S.PENDING_SETUP, S.FAILED_SETUP}), S.ACTIVE),
    Action.RENEW: (frozenset({S.ACTIVE, S.SUSPENDED, S.FAILED_RENEW}), S.ACTIVE),
    Action.SUSPEND: (frozenset({S.ACTIVE}), S.SUSPENDED),
    Action.UNSUSPEND: (frozenset({S.SUSPENDED}), S.ACTIVE),
    Action.CANCEL: (
        frozenset({S.PENDING_SETUP, S.ACTIVE, S.SUSPENDED, S.FAILED_SETUP, S.FAILED_RENEW}),
        S.CANCELED,
    ),
    Action.UNCANCEL: (frozenset({S.CANCELED}), S.ACTIVE),
}
NO_PERIOD = "This order has no billing period, so it cannot be renewed"

_VERBS = {
    "activate": "activated",
    "renew": "renewed",
    "suspend": "suspended",
    "unsuspend": "unsuspended",
    "cancel": "canceled",
    "uncancel": "uncanceled",
}


def next_status(
    action: str, current: str, *, has_period: bool = True, activated: bool = True
) -> OrderStatus:
    """The status `action` leads to from `current`; Conflict with a clear text if forbidden.

    Renewing needs a billing period; uncanceling an order that was never activated takes it
    back to pending_setup rather than making it active without a key.
    """
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        names = " or ".join(sorted(s.value for s in allowed))
        raise Conflict(
            f"Only orders that are {names} can be {_VERBS[action]}; this order is {current}"
        )
    if action == Action.RENEW and not has_period:
        raise Conflict(NO_PERIOD)
    if action == Action.UNCANCEL and not activated:
        return S.PENDING_SETUP
    return target


def allowed_actions(status: str, has_period: bool) -> list[Action]:
    """The actions an order in `status` allows, in lifecycle order (for buttons and docs)."""
    return [
        action
        for action in Action
        if status in TRANSITIONS[action][0] and (action != Action.RENEW or has_period)
    ]


def is_valid(
    *, enabled: bool, status: str, expires_at: datetime | None, clock: Callable[[], datetime]
) -> bool:
    """Whether a key checks valid: enabled, its order active, and not past `expires_at`.

    The clock is read only for keys that can expire: most never do, and this runs on every
    check. `db.key_filters.valid_keys` is the same rule in SQL (a parity test pins both).
    """
    return enabled and status == S.ACTIVE and (expires_at is None or clock() < expires_at)
