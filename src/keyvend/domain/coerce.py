"""Coercion of values as HTML forms and PHP-style clients send them ("32", "1", "on")."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from keyvend.domain.errors import InvalidInput

_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no", ""}
_INT = re.compile(r"[+-]?\d{1,18}")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


def to_bool(value: Any, *, name: str) -> bool:
    """A boolean from a bool, 0/1 or the strings forms send."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidInput(f"{name} must be true or false (1/0, on/off)", field=name)


def to_int(value: Any, *, name: str, low: int, high: int) -> int:
    """A whole number within [low, high], from an int or a numeric string."""
    rule = f"{name} must be a whole number from {low} to {high}"
    if isinstance(value, bool):
        raise InvalidInput(rule, field=name)
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(rule, field=name)
    return value


def to_number_if_numeric(value: str) -> str | int | float:
    """Numeric strings become numbers (custom parameters of FOSSBilling work this way)."""
    text = value.strip()
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        number = float(text)
        if number == number and abs(number) != float("inf"):
            return number
    return value


def to_price(value: Any, *, name: str, decimals: int = 2) -> Decimal:
    """A non-negative price with at most `decimals` decimals (the currency's: 2, 0 or 3)."""
    rule = f"{name} must be a price from 0 to 1000000 with at most {decimals} decimals"
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidInput(rule, field=name)
    try:
        price = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise InvalidInput(rule, field=name) from None
    if not price.is_finite() or price < 0 or price > 1_000_000:
        raise InvalidInput(rule, field=name)
    step = Decimal(1).scaleb(-decimals)
    if price != price.quantize(step):
        raise InvalidInput(rule, field=name)
    return price.quantize(step)
