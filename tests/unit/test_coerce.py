"""Coercion of the values forms and PHP-style clients send: "32", "1", "on", "9.99"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyvend.domain.coerce import to_bool, to_int, to_number_if_numeric, to_price
from keyvend.domain.errors import InvalidInput


@pytest.mark.parametrize("value", [True, 1, "1", "true", "on", "yes", " ON ", "True"])
def test_true_in_every_form_a_form_sends_is_true(value: Any) -> None:
    assert to_bool(value, name="split") is True


@pytest.mark.parametrize("value", [False, 0, "0", "false", "off", "no", "", " Off "])
def test_false_in_every_form_a_form_sends_is_false(value: Any) -> None:
    assert to_bool(value, name="split") is False


@pytest.mark.parametrize("value", [2, -1, "2", "maybe", None, 1.0, [], {}])
def test_anything_else_is_not_a_boolean_and_the_message_names_the_field(value: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^enabled must be true or false \(1/0, on/off\)$"):
        to_bool(value, name="enabled")


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), ("5", 5), (" 7 ", 7), ("+3", 3), (4.0, 4), ("10", 10)]
)
def test_whole_numbers_in_range_are_read_from_ints_strings_and_whole_floats(
    value: Any, expected: int
) -> None:
    assert to_int(value, name="n", low=1, high=10) == expected


@pytest.mark.parametrize("value", [0, 11, "0", "11", "abc", "", "5.5", 5.5, True, None, [5]])
def test_values_outside_the_range_or_not_whole_numbers_are_refused_with_the_range(
    value: Any,
) -> None:
    with pytest.raises(InvalidInput, match=r"^n must be a whole number from 1 to 10$"):
        to_int(value, name="n", low=1, high=10)


def test_a_string_of_more_than_18_digits_is_refused_rather_than_parsed() -> None:
    with pytest.raises(InvalidInput):
        to_int("9" * 19, name="n", low=0, high=10**30)


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_every_integer_string_becomes_that_integer(number: int) -> None:
    result = to_number_if_numeric(str(number))
    assert result == number and type(result) is int


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.5", 0.5), (".5", 0.5), ("5.", 5.0), ("-2.25", -2.25), ("1e3", 1000.0), (" 7 ", 7)],
)
def test_decimal_and_exponent_strings_become_numbers(text: str, expected: float) -> None:
    assert to_number_if_numeric(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "12ab", "1.2.3", "nan", "inf", "1e999", "0x1F", "-"])
def test_text_that_is_not_a_finite_number_stays_text(text: str) -> None:
    assert to_number_if_numeric(text) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("9.99", "9.99"), (10, "10.00"), ("0", "0.00"), ("", "0.00"), (Decimal("1.5"), "1.50")],
)
def test_prices_are_kept_with_two_decimals(value: Any, expected: str) -> None:
    assert to_price(value, name="price") == Decimal(expected)
    assert str(to_price(value, name="price")) == expected


@pytest.mark.parametrize(
    "value", ["-1", "1.999", "1000000.01", "abc", "NaN", "Infinity", True, None, [1], "1e10"]
)
def test_negative_too_precise_huge_or_non_numeric_prices_are_refused(value: Any) -> None:
    with pytest.raises(
        InvalidInput, match=r"^price must be a price from 0 to 1000000 with at most 2 decimals$"
    ):
        to_price(value, name="price")


def test_the_largest_price_is_one_million() -> None:
    assert to_price("1000000", name="price") == Decimal("1000000.00")
