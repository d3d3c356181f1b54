"""Product pricing: free, once, or recurrent with a price per enabled period."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from keyvend.domain.coerce import to_bool, to_price
from keyvend.domain.errors import InvalidInput
from keyvend.domain.periods import parse_period

PRICING_TYPES = ("free", "once", "recurrent")
FREE: dict[str, Any] = {"type": "free"}


def parse_pricing(raw: Any, *, decimals: int = 2) -> dict[str, Any]:
    """Validate FOSSBilling's pricing shape and return its normalised stored form; prices
    may have as many decimals as the shop's currency (`decimals`)."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(
            "pricing must be an object with a type of free, once or recurrent", field="pricing"
        )
    kind = raw.get("type")
    if kind not in PRICING_TYPES:
        raise InvalidInput("pricing type must be free, once or recurrent", field="pricing")
    if kind == "free":
        return dict(FREE)
    if kind == "once":
        once = raw.get("once") or {}
        if not isinstance(once, Mapping):
            raise InvalidInput("pricing once must be an object with a price", field="pricing")
        price = to_price(once.get("price", 0), name="pricing once price", decimals=decimals)
        return {"type": "once", "once": {"price": str(price)}}
    return {"type": "recurrent", "recurrent": _parse_recurrent(raw.get("recurrent"), decimals)}


def _parse_recurrent(raw: Any, decimals: int) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidInput(
            "pricing recurrent must map periods (e.g. 1M) to prices", field="pricing"
        )
    periods: dict[str, dict[str, Any]] = {}
    for key, entry in raw.items():
        period = str(parse_period(key))
        if not isinstance(entry, Mapping):
            entry = {"price": entry}
        price = to_price(
            entry.get("price", 0), name=f"pricing recurrent {period} price", decimals=decimals
        )
        enabled = to_bool(entry.get("enabled", True), name=f"pricing recurrent {period} enabled")
        periods[period] = {"price": str(price), "enabled": enabled}
    if not any(p["enabled"] for p in periods.values()):
        raise InvalidInput("pricing recurrent needs at least one enabled period", field="pricing")
    return periods


def price_for(pricing: Mapping[str, Any], period: str | None) -> Decimal:
    """The unit price of a product for a period; raise InvalidInput if not offered."""
    kind = pricing.get("type", "free")
    if kind == "free":
        return Decimal("0.00")
    if kind == "once":
        return Decimal(pricing["once"]["price"])
    if period is None:
        raise InvalidInput("period is required for a recurrent product", field="period")
    entry = pricing["recurrent"].get(period)
    if entry is None or not entry["enabled"]:
        offered = ", ".join(k for k, v in pricing["recurrent"].items() if v["enabled"])
        raise InvalidInput(
            f"period {period} is not offered for this product (offered: {offered})", field="period"
        )
    return Decimal(entry["price"])


def is_free(pricing: Mapping[str, Any]) -> bool:
    """True for a free product, or a paid one priced at zero."""
    if pricing.get("type", "free") == "free":
        return True
    if pricing["type"] == "once":
        return Decimal(pricing["once"]["price"]) == 0
    return all(Decimal(v["price"]) == 0 for v in pricing["recurrent"].values() if v["enabled"])
