"""Product pricing: FOSSBilling's free / once / recurrent shapes and the price of a period."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from keyvend.domain.errors import InvalidInput
from keyvend.domain.pricing import FREE, is_free, parse_pricing, price_for

MONTHLY_AND_YEARLY = {
    "type": "recurrent",
    "recurrent": {
        "1M": {"price": "9.99", "enabled": True},
        "3M": {"price": "27", "enabled": "0"},
        "1Y": {"price": 99, "enabled": "on"},
    },
}


def refusal(raw: Any) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_pricing(raw)
    return caught.value.message


def test_free_pricing_is_stored_as_just_its_type() -> None:
    assert parse_pricing({"type": "free", "once": {"price": "5"}}) == {"type": "free"}


def test_once_pricing_keeps_its_price_with_two_decimals() -> None:
    assert parse_pricing({"type": "once", "once": {"price": "12.5"}}) == {
        "type": "once",
        "once": {"price": "12.50"},
    }


def test_once_pricing_without_a_price_costs_nothing() -> None:
    assert parse_pricing({"type": "once"}) == {"type": "once", "once": {"price": "0.00"}}


def test_recurrent_pricing_keeps_each_period_with_its_price_and_enabled_flag() -> None:
    assert parse_pricing(MONTHLY_AND_YEARLY) == {
        "type": "recurrent",
        "recurrent": {
            "1M": {"price": "9.99", "enabled": True},
            "3M": {"price": "27.00", "enabled": False},
            "1Y": {"price": "99.00", "enabled": True},
        },
    }


def test_recurrent_periods_may_be_given_as_bare_prices_and_in_lower_case() -> None:
    assert parse_pricing({"type": "recurrent", "recurrent": {"1m": "5"}}) == {
        "type": "recurrent",
        "recurrent": {"1M": {"price": "5.00", "enabled": True}},
    }


@pytest.mark.parametrize("raw", [None, "free", ["free"], 0])
def test_pricing_that_is_not_an_object_is_refused(raw: Any) -> None:
    assert refusal(raw) == "pricing must be an object with a type of free, once or recurrent"


@pytest.mark.parametrize("kind", [None, "monthly", "FREE", ""])
def test_an_unknown_pricing_type_is_refused_with_the_three_types(kind: Any) -> None:
    assert refusal({"type": kind}) == "pricing type must be free, once or recurrent"


def test_once_pricing_that_is_not_an_object_is_refused() -> None:
    assert refusal({"type": "once", "once": "5"}) == "pricing once must be an object with a price"


def test_a_negative_once_price_is_refused_naming_the_field() -> None:
    assert refusal({"type": "once", "once": {"price": "-1"}}).startswith(
        "pricing once price must be a price from 0 to 1000000"
    )


@pytest.mark.parametrize("recurrent", [None, {}, [], "1M"])
def test_recurrent_pricing_without_periods_is_refused(recurrent: Any) -> None:
    assert refusal({"type": "recurrent", "recurrent": recurrent}) == (
        "pricing recurrent must map periods (e.g. 1M) to prices"
    )


def test_recurrent_pricing_with_an_unknown_period_is_refused_with_the_period_rule() -> None:
    assert refusal({"type": "recurrent", "recurrent": {"13Y": "1"}}).startswith(
        "period must be 1-90D, 1-52W, 1-24M or 1-5Y"
    )


def test_a_bad_recurrent_price_is_refused_naming_its_period() -> None:
    message = refusal({"type": "recurrent", "recurrent": {"3M": {"price": "1.234"}}})
    assert message.startswith("pricing recurrent 3M price must be a price")


def test_a_bad_enabled_flag_is_refused_naming_its_period() -> None:
    message = refusal({"type": "recurrent", "recurrent": {"1M": {"price": 1, "enabled": "x"}}})
    assert message == "pricing recurrent 1M enabled must be true or false (1/0, on/off)"


def test_recurrent_pricing_with_every_period_disabled_is_refused() -> None:
    raw = {"type": "recurrent", "recurrent": {"1M": {"price": 1, "enabled": False}}}
    assert refusal(raw) == "pricing recurrent needs at least one enabled period"


def test_a_free_product_costs_nothing_for_any_period() -> None:
    assert price_for(FREE, None) == Decimal("0.00")
    assert price_for(FREE, "1Y") == Decimal("0.00")


def test_a_once_product_costs_its_price_whatever_the_period() -> None:
    pricing = parse_pricing({"type": "once", "once": {"price": "15"}})
    assert price_for(pricing, None) == Decimal("15.00")
    assert price_for(pricing, "1M") == Decimal("15.00")


def test_a_recurrent_product_costs_the_price_of_the_chosen_period() -> None:
    pricing = parse_pricing(MONTHLY_AND_YEARLY)
    assert price_for(pricing, "1M") == Decimal("9.99")
    assert price_for(pricing, "1Y") == Decimal("99.00")


def test_a_recurrent_product_needs_a_period() -> None:
    with pytest.raises(InvalidInput, match=r"^period is required for a recurrent product$"):
        price_for(parse_pricing(MONTHLY_AND_YEARLY), None)


@pytest.mark.parametrize("period", ["3M", "6M"])
def test_a_disabled_or_absent_period_is_refused_listing_the_offered_ones(period: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        price_for(parse_pricing(MONTHLY_AND_YEARLY), period)
    assert caught.value.message == (
        f"period {period} is not offered for this product (offered: 1M, 1Y)"
    )


def test_free_and_zero_priced_products_are_free_and_priced_ones_are_not() -> None:
    assert is_free(FREE)
    assert is_free(parse_pricing({"type": "once", "once": {"price": "0"}}))
    assert not is_free(parse_pricing({"type": "once", "once": {"price": "0.01"}}))
    assert not is_free(parse_pricing(MONTHLY_AND_YEARLY))


def test_a_recurrent_product_whose_only_paid_period_is_disabled_is_free() -> None:
    pricing = parse_pricing(
        {
            "type": "recurrent",
            "recurrent": {"1M": {"price": 0}, "1Y": {"price": 50, "enabled": False}},
        }
    )
    assert is_free(pricing)
