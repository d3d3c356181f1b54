"""Billing periods (1-90D, 1-52W, 1-24M, 1-5Y) and the expiry dates they give."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from keyvend.domain.errors import Conflict, InvalidInput

_LIMITS = {"D": 90, "W": 52, "M": 24, "Y": 5}
_PERIOD = re.compile(r"([1-9]\d{0,2})([DWMY])")
RULE = "period must be 1-90D, 1-52W, 1-24M or 1-5Y (e.g. 1M, 3M, 1Y)"
PAST_THE_CALENDAR = "One more period would end after the year 9999; this cannot be renewed"


@dataclass(frozen=True)
class Period:
    """A billing period such as 1M or 1Y."""

    count: int
    unit: str

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    def after(self, start: datetime) -> datetime:
        """The moment one period after `start` (month ends are clipped, as calendars do).

        Conflict, not a crash, when that moment would be past the year 9999 (the calendar's
        end): an order renewed that far cannot be renewed again.
        """
        try:
            if self.unit == "D":
                return start + timedelta(days=self.count)
            if self.unit == "W":
                return start + timedelta(weeks=self.count)
            months = self.count if self.unit == "M" else 12 * self.count
            return _add_months(start, months)
        except (OverflowError, ValueError):
            raise Conflict(PAST_THE_CALENDAR) from None


def parse_period(value: object) -> Period:
    """Parse '3M' and the like; raise InvalidInput with the rule otherwise."""
    if not isinstance(value, str):
        raise InvalidInput(RULE, field="period")
    match = _PERIOD.fullmatch(value.strip().upper())
    if match is None:
        raise InvalidInput(RULE, field="period")
    count, unit = int(match.group(1)), match.group(2)
    if count > _LIMITS[unit]:
        raise InvalidInput(RULE, field="period")
    return Period(count, unit)


def _add_months(start: datetime, months: int) -> datetime:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)
