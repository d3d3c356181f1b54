"""Key usage: checks per key and UTC day by outcome, as the servers flushed them."""

from __future__ import annotations

import datetime as dt

from keyvend.schemas.common import Schema, Timestamp


class DayUsage(Schema):
    """One UTC day of one key: its checks, in all and by outcome (a verify code)."""

    date: dt.date
    total: int
    outcomes: dict[str, int]


class UsagePublic(Schema):
    """One key's usage over the last `days` days, ending today (UTC): every day of the
    range in `daily`, oldest first, days without checks as zeros."""

    order_id: int
    days: int
    last_used_at: Timestamp | None
    total: int
    outcomes: dict[str, int]
    daily: list[DayUsage]


class TopKey(Schema):
    """A key among today's most used, with whose it is."""

    order_id: int
    title: str
    client_id: int
    client_email: str
    count: int
