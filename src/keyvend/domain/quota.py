"""Quotas and per-key rate limits (DESIGN.md section 11): the config rules and the windows.

A key's config may hold `quota` (a whole number; absent = unlimited), `quota_period` (`day`,
`month`, `period` = the order's billing period, `total`) and `rate_limit` (limits notation,
e.g. `10/second`). Each verify spends from the quota window that holds "now" and counts one
call in the rate-limit window that holds it. Windows are named so that counters of different
windows never meet: a paid renewal moves the order's `expires_at`, so a `period` quota starts
afresh by itself.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from limits import RateLimitItem, parse

from keyvend.domain.coerce import to_int
from keyvend.domain.errors import InvalidInput

QUOTA_PERIODS = ("day", "month", "period", "total")
DEFAULT_QUOTA_PERIOD = "month"
MAX_QUOTA = 10**15
MAX_COST = 1_000_000
# Counters outlive their window by a day, so a clock a little off never resurrects one.
_MARGIN = timedelta(days=1)
RATE_LIMIT_RULE = "rate_limit must be in limits notation, such as 10/second or 1000/hour"


@dataclass(frozen=True)
class KeyLimits:
    """What a key may spend: its quota (None = unlimited) and its rate limit (None = none)."""

    quota: int | None = None
    quota_period: str = DEFAULT_QUOTA_PERIOD
    rate_limit: RateLimitItem | None = None


class Window(NamedTuple):
    """One counter's window: its name, when it ends (None: never), and how long to keep it
    (seconds from the window's first use on; 0: for ever)."""

    name: str
    reset_at: datetime | None
    ttl: int


def parse_limits(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of a config's quota settings; InvalidInput naming the key and rule."""
    stored: dict[str, Any] = {}
    quota = raw.get("quota")
    if quota is not None and not (isinstance(quota, str) and not quota.strip()):
        stored["quota"] = to_int(quota, name="quota", low=0, high=MAX_QUOTA)
        period = raw.get("quota_period") or DEFAULT_QUOTA_PERIOD
        if not isinstance(period, str) or period.strip().lower() not in QUOTA_PERIODS:
            raise InvalidInput(
                "quota_period must be one of day, month, period or total", field="quota_period"
            )
        stored["quota_period"] = period.strip().lower()
    rate = raw.get("rate_limit")
    if rate is not None and not (isinstance(rate, str) and not rate.strip()):
        if not isinstance(rate, str) or len(rate) > 64 or ";" in rate or "," in rate:
            raise InvalidInput(RATE_LIMIT_RULE, field="rate_limit")
        try:
            item = parse(rate.strip())
        except ValueError:
            raise InvalidInput(RATE_LIMIT_RULE, field="rate_limit") from None
        if item.amount < 1:
            raise InvalidInput(RATE_LIMIT_RULE, field="rate_limit")
        stored["rate_limit"] = rate.strip()
    return stored


def key_limits(config: Mapping[str, Any]) -> KeyLimits:
    """The limits of a stored (already validated) config; cheap, since this runs per verify."""
    return _limits(config.get("quota"), config.get("quota_period"), config.get("rate_limit"))


@lru_cache(maxsize=1024)
def _limits(quota: int | None, period: str | None, rate: str | None) -> KeyLimits:
    return KeyLimits(
        quota=quota,
        quota_period=period or DEFAULT_QUOTA_PERIOD,
        rate_limit=parse(rate) if rate else None,
    )


def quota_window(period: str, now: datetime, expires_at: datetime | None) -> Window:
    """The quota window holding `now`; `period` follows the order's paid time."""
    if period == "day":
        return _day_window(now.year, now.month, now.day)
    if period == "month":
        return _month_window(now.year, now.month)
    if period == "period" and expires_at is not None:
        return _ending(f"p{int(expires_at.timestamp())}", expires_at, now)
    return _FOREVER


def rate_window(item: RateLimitItem, now: datetime) -> Window:
    """The fixed rate-limit window holding `now`, aligned to the clock as the API's are."""
    period = item.get_expiry()
    return _rate_window(item.amount, period, math.floor(now.timestamp() / period))


# Windows repeat for every verify within them: each is built once (this runs per verify).
@lru_cache(maxsize=64)
def _day_window(year: int, month: int, day: int) -> Window:
    start = datetime(year, month, day, tzinfo=UTC)
    return _ending(f"d{start:%Y-%m-%d}", start + timedelta(days=1), start)


@lru_cache(maxsize=64)
def _month_window(year: int, month: int) -> Window:
    start = datetime(year, month, 1, tzinfo=UTC)
    days = calendar.monthrange(year, month)[1]
    return _ending(f"m{start:%Y-%m}", start + timedelta(days=days), start)


@lru_cache(maxsize=256)
def _rate_window(amount: int, period: int, index: int) -> Window:
    reset_at = datetime.fromtimestamp((index + 1) * period, UTC)
    return Window(f"r{amount}/{period}:{index}", reset_at, period)


def _ending(name: str, reset_at: datetime, start: datetime) -> Window:
    return Window(name, reset_at, max(1, math.ceil((reset_at + _MARGIN - start).total_seconds())))


_FOREVER = Window("t", None, 0)
