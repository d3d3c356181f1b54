"""`guest/serviceapikey/verify`: a key's state, quota and rate limit in one answer.

Unlike `check`, verify always answers with a result, for any key: the code says why a key
does or does not work (DESIGN.md section 11). It tells no more than `check` does: a key that
does not exist is NOT_FOUND, and misses still count against the caller's `guest_miss`
budget (the endpoint's `missed`). A valid key then spends `cost` from its quota and one call
from its rate limit through the meter, both or neither.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from keyvend.adapters.meter import Counter, Spend
from keyvend.db.key_index import KeyRow
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import NotFound
from keyvend.domain.keygen import custom_params
from keyvend.domain.quota import KeyLimits, key_limits, quota_window, rate_window
from keyvend.domain.verification import VerifyCode
from keyvend.services import serviceapikey


class Quota(NamedTuple):
    limit: int
    remaining: int
    reset_at: datetime | None


class Verification(NamedTuple):
    """The answer of a verify (`to_api` is its wire form); a tuple: one is built per call."""

    code: VerifyCode
    config: dict[str, Any]
    expires_at: datetime | None = None
    quota: Quota | None = None

    @property
    def valid(self) -> bool:
        return self.code is VerifyCode.VALID

    @property
    def missed(self) -> bool:
        """No such key: counts against the caller's `guest_miss` budget."""
        return self.code is VerifyCode.NOT_FOUND

    def to_api(self) -> dict[str, Any]:
        quota = self.quota
        return {
            "valid": self.valid,
            "code": self.code.value,
            "config": self.config,
            "expires_at": _iso(self.expires_at),
            "quota": None
            if quota is None
            else {
                "limit": quota.limit,
                "remaining": quota.remaining,
                "reset_at": _iso(quota.reset_at),
            },
        }


NOT_FOUND = Verification(VerifyCode.NOT_FOUND, {})


def verify(db: Database, key: str, *, cost: int = 1) -> Verification:
    """The key's state; a valid key spends `cost` (0: only look) unless its quota or rate
    limit refuses, in which case it spends nothing."""
    now = db.clock()
    try:
        row = serviceapikey.lookup(db, key, now)
    except NotFound:
        return NOT_FOUND
    code = serviceapikey.state(db, row, now, count=False)
    limits = key_limits(row.config)
    quota = _quota_counter(row, limits, now)
    rate = None
    if limits.rate_limit is not None:
        rate = Counter(row.order_id, rate_window(limits.rate_limit, now), limits.rate_limit.amount)
    spent = Spend(None, 0)
    if quota is not None or rate is not None:
        # A key that does not work spends nothing; its quota is still shown.
        spend = cost if code is VerifyCode.VALID else 0
        spent = db.meter.spend(quota=quota, rate=rate if spend else None, cost=spend)
    code = spent.refused or code
    db.usage.count(row.order_id, code, now)
    return Verification(
        code=code,
        config=custom_params(row.config),
        expires_at=row.expires_at,
        quota=None
        if quota is None
        else Quota(quota.limit, max(0, quota.limit - spent.used), quota.window.reset_at),
    )


def _quota_counter(row: KeyRow, limits: KeyLimits, now: datetime) -> Counter | None:
    if limits.quota is None:
        return None
    window = quota_window(limits.quota_period, now, row.expires_at)
    return Counter(row.order_id, window, limits.quota)


def _iso(value: datetime | None) -> str | None:
    return _isoformat(value) if value is not None else None


@lru_cache(maxsize=8192)
def _isoformat(value: datetime) -> str:
    # Expiry and reset times repeat across verifies: format each once.
    return value.isoformat()
