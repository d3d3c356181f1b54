"""Money is exact: Decimal amounts, integer minor units, rounding half up once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyvend.domain import money
from keyvend.domain.errors import InvalidInput

CURRENCIES = ["USD", "EUR", "JPY", "KWD", "BHD", "KRW"]


def test_three_of_a_tenth_total_thirty_cents() -> None:
    unit = money.to_minor(Decimal("0.10"), "USD")
    assert unit == 10
    assert money.show(unit * 3, "USD") == "0.30"


def test_nineteen_percent_tax_on_nine_dollars_is_one_seventy_one() -> None:
    assert money.tax_of(900, Decimal("19"), "USD") == 171
    assert money.show(money.tax_of(900, Decimal("19"), "USD"), "USD") == "1.71"


def test_tax_rounds_half_up_once_on_the_exact_amount() -> None:
    assert money.tax_of(5, Decimal("10"), "USD") == 1  # 0.005 -> 0.01
    assert money.tax_of(4, Decimal("10"), "USD") == 0  # 0.004 -> 0.00
    assert money.tax_of(1005, Decimal("10"), "USD") == 101  # 1.005 -> 1.01, not 1.00
    assert money.tax_of(1000, Decimal("0"), "USD") == 0


@pytest.mark.parametrize(
    ("currency", "places", "amount", "minor", "shown"),
    [
        ("USD", 2, Decimal("19"), 1900, "19.00"),
        ("USD", 2, Decimal("0.005"), 1, "0.01"),
        ("JPY", 0, Decimal("1900"), 1900, "1900"),
        ("JPY", 0, Decimal("0.5"), 1, "1"),
        ("JPY", 0, Decimal("1.49"), 1, "1"),
        ("KWD", 3, Decimal("1.25"), 1250, "1.250"),
        ("KWD", 3, Decimal("1.2345"), 1235, "1.235"),
        ("KWD", 3, Decimal("1.2344"), 1234, "1.234"),
    ],
)
def test_each_currency_has_its_decimals_and_rounds_half_up(
    currency: str, places: int, amount: Decimal, minor: int, shown: str
) -> None:
    assert money.decimals(currency) == places
    assert money.to_minor(amount, currency) == minor
    assert money.show(minor, currency) == shown


def test_tax_in_jpy_and_kwd_rounds_in_the_currencys_own_unit() -> None:
    assert money.tax_of(5, Decimal("10"), "JPY") == 1  # 0.5 yen -> 1
    assert money.tax_of(4, Decimal("10"), "JPY") == 0
    assert money.tax_of(1005, Decimal("10"), "KWD") == 101  # 0.1005 -> 0.101
    assert money.show(money.tax_of(9000, Decimal("19"), "KWD"), "KWD") == "1.710"


def test_rounding_happens_once_not_step_by_step() -> None:
    # 0.0449 rounded to 3 places first would be 0.045 and then 0.05; once it is 0.04.
    assert money.to_minor(Decimal("0.0449"), "USD") == 4


@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15), currency=st.sampled_from(CURRENCIES)
)
def test_minor_units_round_trip_through_an_amount_and_its_text(minor: int, currency: str) -> None:
    amount = money.from_minor(minor, currency)
    assert isinstance(amount, Decimal)
    assert money.to_minor(amount, currency) == minor
    shown = money.show(minor, currency)
    assert money.to_minor(Decimal(shown), currency) == minor
    places = money.decimals(currency)
    assert (len(shown.partition(".")[2]) if "." in shown else 0) == places


@given(
    amount=st.decimals(min_value=0, max_value=10**9, places=5, allow_nan=False),
    currency=st.sampled_from(CURRENCIES),
)
def test_an_amount_rounds_to_the_nearest_minor_unit_half_up(amount: Decimal, currency: str) -> None:
    minor = money.to_minor(amount, currency)
    step = money.quantum(currency)
    back = money.from_minor(minor, currency)
    assert abs(back - amount) <= step / 2
    if abs(back - amount) == step / 2:
        assert back > amount  # a half goes up


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "0"),
        ("19", "19"),
        ("7.5", "7.5"),
        ("7.500", "7.5"),
        (Decimal("100"), "100"),
        (12, "12"),
        ("", "0"),
        (" 19 ", "19"),
        ("-0", "0"),
        ("0.001", "0.001"),
    ],
)
def test_parse_tax_rate_reads_percentages_from_0_to_100(value: object, expected: str) -> None:
    rate = money.parse_tax_rate(value)
    assert isinstance(rate, Decimal)
    assert money.tax_rate_text(rate) == expected


@pytest.mark.parametrize(
    "value",
    ["-1", "100.001", "101", "0.0001", "abc", "NaN", "Infinity", "1e400", True, None, [19], {}],
)
def test_parse_tax_rate_refuses_what_is_not_a_percentage(value: object) -> None:
    with pytest.raises(InvalidInput, match="tax_rate must be a percentage from 0 to 100") as err:
        money.parse_tax_rate(value)
    assert err.value.field == "tax_rate"


def test_no_function_returns_a_float() -> None:
    results = [
        money.from_minor(1234, "USD"),
        money.rounded(Decimal("1.005"), "USD"),
        money.parse_tax_rate("19"),
        money.quantum("KWD"),
    ]
    assert all(isinstance(value, Decimal) for value in results)
    assert all(isinstance(money.to_minor(Decimal("1.005"), c), int) for c in CURRENCIES)
    assert isinstance(money.tax_of(900, Decimal("19"), "USD"), int)


def test_currency_codes_are_iso_4217_shaped() -> None:
    assert money.currency_code(" usd ") == "USD"
    for bad in ("US", "USDX", "12A", ""):
        with pytest.raises(InvalidInput, match="ISO 4217"):
            money.currency_code(bad)


def test_a_label_shows_the_amount_with_its_currency() -> None:
    assert money.label(1900, "USD") == "19.00 USD"
    assert money.label(1900, "JPY") == "1900 JPY"
    assert money.label(1250, "KWD") == "1.250 KWD"
