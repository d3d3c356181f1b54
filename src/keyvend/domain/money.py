"""Money: exact amounts in a currency's minor units, never a float.

Amounts travel as `Decimal` in services and as integer minor units (cents, yen, fils) in the
invoice tables; the wire shows them as strings with the currency's decimals (`"19.00"`,
`"1900"` for JPY, `"1.250"` for KWD). Rounding is half up, once, where a tax or a conversion
makes more decimals than the currency has.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from keyvend.domain.errors import InvalidInput

# ISO 4217 currencies whose minor unit is not 2 decimals; every other code has 2.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_DECIMALS: dict[str, int] = {
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
}
_CODE = re.compile(r"[A-Z]{3}")
MAX_TAX_RATE = Decimal(100)


def currency_code(value: str) -> str:
    """An ISO 4217 code in upper case ("usd" -> "USD"); InvalidInput otherwise."""
    code = value.strip().upper()
    if not _CODE.fullmatch(code):
        raise InvalidInput("currency must be an ISO 4217 code such as USD or EUR", field="currency")
    return code


def decimals(currency: str) -> int:
    """How many decimals the currency's minor unit has (USD 2, JPY 0, KWD 3)."""
    return _DECIMALS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency as a Decimal exponent: 0.01, 1 or 0.001."""
    return Decimal(1).scaleb(-decimals(currency))


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half up to the currency's decimals."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` in minor units (19.00 USD -> 1900), rounded half up."""
    return int(rounded(amount, currency).scaleb(decimals(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    """Minor units back to an amount with the currency's decimals (1900 USD -> 19.00)."""
    return rounded(Decimal(minor).scaleb(-decimals(currency)), currency)


def show(minor: int, currency: str) -> str:
    """The wire form of an amount in minor units: `"19.00"`, `"1900"`, `"1.250"`."""
    return f"{from_minor(minor, currency):f}"


def label(minor: int, currency: str) -> str:
    """An amount for people: `"19.00 USD"`."""
    return f"{show(minor, currency)} {currency}"


def tax_of(subtotal_minor: int, rate: Decimal, currency: str) -> int:
    """The tax on a subtotal at `rate` percent, in minor units, rounded once, half up.

    The rounding happens on the amount in the currency's unit, so 19 % of 9.00 USD is 1.71
    and 10 % of 5 JPY is 1 (0.5 rounds up).
    """
    if rate == 0:
        return 0
    exact = from_minor(subtotal_minor, currency) * rate / Decimal(100)
    return to_minor(exact, currency)


def parse_tax_rate(value: object) -> Decimal:
    """A tax rate in percent, 0 to 100 with at most 3 decimals ("19", "7.5")."""
    rule = "tax_rate must be a percentage from 0 to 100 with at most 3 decimals"
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidInput(rule, field="tax_rate")
    try:
        rate = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise InvalidInput(rule, field="tax_rate") from None
    if not rate.is_finite() or not 0 <= rate <= MAX_TAX_RATE:
        raise InvalidInput(rule, field="tax_rate")
    if rate != rate.quantize(Decimal("0.001")):
        raise InvalidInput(rule, field="tax_rate")
    return Decimal(tax_rate_text(abs(rate)))  # abs: "-0" is 0


def tax_rate_text(rate: Decimal) -> str:
    """A tax rate as stored and shown: "19", "7.5"."""
    text = f"{rate:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
