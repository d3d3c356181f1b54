"""What a key check finds (DESIGN.md section 11): one code per reason a key is or is not usable."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from keyvend.domain.order_states import OrderStatus as S


class VerifyCode(StrEnum):
    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    DISABLED = "DISABLED"
    EXPIRED = "EXPIRED"
    SUSPENDED = "SUSPENDED"
    CANCELED = "CANCELED"
    PENDING = "PENDING"
    USAGE_EXCEEDED = "USAGE_EXCEEDED"
    RATE_LIMITED = "RATE_LIMITED"


# An order that is not active says why its key does not work. A failed renewal means the
# paid time ran out, which is what the customer needs to hear.
_ORDER_CODES: dict[str, VerifyCode] = {
    S.SUSPENDED: VerifyCode.SUSPENDED,
    S.CANCELED: VerifyCode.CANCELED,
    S.PENDING_SETUP: VerifyCode.PENDING,
    S.FAILED_SETUP: VerifyCode.PENDING,
    S.FAILED_RENEW: VerifyCode.EXPIRED,
}


def state_code(
    *, enabled: bool, status: str, expires_at: datetime | None, now: datetime
) -> VerifyCode:
    """The code of a found key's state: the key itself first, then its order, then time.
    VALID exactly when `order_states.is_valid` holds (a property test pins both)."""
    if not enabled:
        return VerifyCode.DISABLED
    if status != S.ACTIVE:
        return _ORDER_CODES.get(status, VerifyCode.PENDING)
    if expires_at is not None and now >= expires_at:
        return VerifyCode.EXPIRED
    return VerifyCode.VALID
