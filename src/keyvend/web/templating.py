"""The small filters page templates use to show values to people (`keyvend.templates` has
the environment they are registered on)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from keyvend.domain.money import rounded

MASK = "\u2022"
STATUS_LABELS = {
    "pending_setup": "Pending setup",
    "active": "Active",
    "suspended": "Suspended",
    "canceled": "Canceled",
    "failed_setup": "Setup failed",
    "failed_renew": "Renewal failed",
    "enabled": "Enabled",
    "disabled": "Disabled",
    "inactive": "Inactive",
    "not_installed": "Not installed",
    "unpaid": "Unpaid",
    "paid": "Paid",
    "refunded": "Refunded",
    "pending_payment": "Awaiting payment",
    "executed": "Done",
    "failed": "Failed",
    "processed": "Processed",
    "error": "Error",
}
SETUP_LABELS = {
    "after_order": "Right after the order",
    "after_payment": "After payment",
    "manual": "Manually by an admin",
}
CENT = Decimal("0.01")
PERIOD_UNITS = {"D": "day", "W": "week", "M": "month", "Y": "year"}


def when(value: datetime | str | None, empty: str = "never") -> str:
    """A moment (or its ISO text) as people read it: `15 Jan 2026, 12:00 UTC`."""
    if not value:
        return empty
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%d %b %Y, %H:%M UTC").lstrip("0")


def period_label(period: str | None) -> str:
    """`3M` -> `3 months`."""
    if not period:
        return "no period"
    count, unit = int(period[:-1]), PERIOD_UNITS.get(period[-1], period[-1])
    return f"{count} {unit}{'' if count == 1 else 's'}"


def money(value: str | Decimal | None, currency: str = "") -> str:
    """A price with the currency's decimals and code (`9.00 USD`, `900 JPY`), or `Free`."""
    if value is None or Decimal(value) == 0:
        return "Free"
    return amount(value, currency)


def amount(value: str | Decimal, currency: str = "") -> str:
    """An amount with the currency's decimals and code, zero included (`0.00 USD`)."""
    shown = rounded(Decimal(value), currency) if currency else Decimal(value).quantize(CENT)
    return f"{shown:f} {currency}".rstrip()


def pricing_summary(pricing: Mapping[str, Any], currency: str = "") -> str:
    """`Free`, `9.00 USD once` or `5.00 USD / 1 month, 50.00 USD / 1 year`."""
    kind = pricing.get("type", "free")
    if kind == "once":
        return f"{money(pricing['once']['price'], currency)} once"
    if kind == "recurrent":
        offers = [
            f"{money(entry['price'], currency)} / {period_label(period)}"
            for period, entry in pricing["recurrent"].items()
            if entry.get("enabled")
        ]
        return ", ".join(offers)
    return "Free"


def offered_periods(pricing: Mapping[str, Any], currency: str = "") -> list[tuple[str, str]]:
    """The (period, label) choices a client may order."""
    if pricing.get("type") != "recurrent":
        return []
    return [
        (period, f"{period_label(period)}: {money(entry['price'], currency)}")
        for period, entry in pricing["recurrent"].items()
        if entry.get("enabled")
    ]


def mask_key(key: str, prefix: str = "") -> str:
    """Hide all but the last four characters of a key; dashes and the prefix stay visible."""
    head = prefix if prefix and key.startswith(prefix) else ""
    body = key[len(head) :]
    hidden = sum(1 for char in body if char != "-") - 4
    out: list[str] = []
    for char in body:
        if char != "-":
            char, hidden = (MASK if hidden > 0 else char), hidden - 1
        out.append(char)
    return head + "".join(out)


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "period_label": period_label,
    "money": money,
    "amount": amount,
    "pricing_summary": pricing_summary,
    "mask_key": mask_key,
    "status_label": lambda s: STATUS_LABELS.get(s, str(s).replace("_", " ").capitalize()),
    "setup_label": lambda s: SETUP_LABELS.get(s, s),
}
GLOBALS: dict[str, Callable[..., Any]] = {"offered_periods": offered_periods}
