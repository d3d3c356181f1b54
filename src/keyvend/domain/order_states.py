"""The order state machine, with FOSSBilling's statuses and allowed transitions."""

from __future__ import annotations

from enum import StrEnum

from keyvend.domain.errors import Conflict


class OrderStatus(StrEnum):
    PENDING_SETUP = "pending_setup"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELED = "canceled"
    FAILED_SETUP = "failed_setup"
    FAILED_RENEW = "failed_renew"


S = OrderStatus

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[OrderStatus], OrderStatus]] = {
    "activate": (frozenset({S.PENDING_SETUP, S.FAILED_SETUP}), S.ACTIVE),
    "renew": (frozenset({S.ACTIVE, S.SUSPENDED, S.FAILED_RENEW}), S.ACTIVE),
    "suspend": (frozenset({S.ACTIVE}), S.SUSPENDED),
    "unsuspend": (frozenset({S.SUSPENDED}), S.ACTIVE),
    "cancel": (
        frozenset({S.PENDING_SETUP, S.ACTIVE, S.SUSPENDED, S.FAILED_SETUP, S.FAILED_RENEW}),
        S.CANCELED,
    ),
    "uncancel": (frozenset({S.CANCELED}), S.ACTIVE),
}

_VERBS = {
    "activate": "activated",
    "renew": "renewed",
    "suspend": "suspended",
    "unsuspend": "unsuspended",
    "cancel": "canceled",
    "uncancel": "uncanceled",
}


def next_status(action: str, current: str) -> OrderStatus:
    """The status `action` leads to from `current`; Conflict with a clear text if forbidden."""
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        names = " or ".join(sorted(s.value for s in allowed))
        raise Conflict(
            f"Only orders that are {names} can be {_VERBS[action]}; this order is {current}"
        )
    return target
