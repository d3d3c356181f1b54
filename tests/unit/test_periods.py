"""Billing periods: 1-90D, 1-52W, 1-24M, 1-5Y, and the expiry dates they give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyvend.domain.errors import Conflict, InvalidInput
from keyvend.domain.periods import RULE, Period, parse_period

LIMITS = {"D": 90, "W": 52, "M": 24, "Y": 5}
START = datetime(2026, 1, 15, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(("unit", "limit"), LIMITS.items())
def test_every_count_from_1_to_the_units_limit_is_accepted(unit: str, limit: int) -> None:
    for count in range(1, limit + 1):
        assert parse_period(f"{count}{unit}") == Period(count, unit)


@pytest.mark.parametrize(("unit", "limit"), LIMITS.items())
def test_one_above_the_units_limit_is_refused_with_the_rule(unit: str, limit: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_period(f"{limit + 1}{unit}")
    assert (
        caught.value.message
        == RULE
        == ("period must be 1-90D, 1-52W, 1-24M or 1-5Y (e.g. 1M, 3M, 1Y)")
    )


@pytest.mark.parametrize(
    "value",
    ["0M", "0D", "01M", "-1M", "1H", "M", "1", "", "1 M", "1MM", "1000D", "1.5M", None, 1, ["1M"]],
)
def test_anything_else_is_refused_with_the_rule(value: Any) -> None:
    with pytest.raises(InvalidInput, match="period must be 1-90D"):
        parse_period(value)


def test_lower_case_and_surrounding_space_are_read_as_the_period() -> None:
    assert parse_period(" 3m ") == Period(3, "M")
    assert str(parse_period("1y")) == "1Y"


def test_a_period_prints_as_count_and_unit() -> None:
    assert [str(parse_period(p)) for p in ("1D", "2W", "3M", "5Y")] == ["1D", "2W", "3M", "5Y"]


def test_days_and_weeks_add_exact_durations() -> None:
    assert parse_period("90D").after(START) == START + timedelta(days=90)
    assert parse_period("2W").after(START) == START + timedelta(days=14)


def test_one_month_keeps_the_day_and_the_time() -> None:
    assert parse_period("1M").after(START) == datetime(2026, 2, 15, 12, 30, tzinfo=UTC)


def test_january_31_plus_one_month_clips_to_february_28() -> None:
    start = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    assert parse_period("1M").after(start) == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)


def test_january_31_plus_one_month_in_a_leap_year_clips_to_february_29() -> None:
    start = datetime(2028, 1, 31, tzinfo=UTC)
    assert parse_period("1M").after(start) == datetime(2028, 2, 29, tzinfo=UTC)


def test_august_31_plus_one_month_clips_to_september_30() -> None:
    start = datetime(2026, 8, 31, tzinfo=UTC)
    assert parse_period("1M").after(start) == datetime(2026, 9, 30, tzinfo=UTC)


def test_months_roll_over_into_the_next_year() -> None:
    start = datetime(2026, 11, 30, tzinfo=UTC)
    assert parse_period("3M").after(start) == datetime(2027, 2, 28, tzinfo=UTC)
    assert parse_period("24M").after(start) == datetime(2028, 11, 30, tzinfo=UTC)


def test_december_plus_one_month_is_january_of_the_next_year() -> None:
    start = datetime(2026, 12, 15, tzinfo=UTC)
    assert parse_period("1M").after(start) == datetime(2027, 1, 15, tzinfo=UTC)


def test_february_29_plus_one_year_clips_to_february_28() -> None:
    start = datetime(2028, 2, 29, tzinfo=UTC)
    assert parse_period("1Y").after(start) == datetime(2029, 2, 28, tzinfo=UTC)
    assert parse_period("4Y").after(start) == datetime(2032, 2, 29, tzinfo=UTC)


dates = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(dates, st.integers(min_value=1, max_value=2))
def test_a_year_is_twelve_months(start: datetime, years: int) -> None:
    assert parse_period(f"{years}Y").after(start) == parse_period(f"{12 * years}M").after(start)


@settings(deadline=None)
@given(dates, st.integers(min_value=1, max_value=24))
def test_adding_months_moves_the_calendar_month_and_never_overflows_it(
    start: datetime, months: int
) -> None:
    end = parse_period(f"{months}M").after(start)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day == start.day or (end.day < start.day and (end + timedelta(days=1)).day == 1)
    assert end.time() == start.time() and end.tzinfo == start.tzinfo


@pytest.mark.parametrize("period", ["1D", "52W", "1M", "5Y"])
def test_a_period_ending_after_the_year_9999_is_a_conflict_not_a_crash(period: str) -> None:
    end_of_time = datetime(9999, 12, 31, 12, tzinfo=UTC)
    with pytest.raises(Conflict, match="after the year 9999"):
        parse_period(period).after(end_of_time)
