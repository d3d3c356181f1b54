"""The API-key product config (DESIGN.md section 4) and the key generator, without a database."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyvend.domain.errors import InvalidInput
from keyvend.domain.keygen import (
    MAX_CUSTOM_PARAMS,
    KeyFormat,
    custom_params,
    generate_key,
    normalize_key,
    parse_config,
)

PREFIX_CHARS = string.ascii_letters + string.digits + "_"


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    """Every valid combination of the built-in keys, each as a value or as a form string."""
    length = draw(st.integers(min_value=16, max_value=256))
    interval = draw(st.integers(min_value=1, max_value=length))
    split = draw(st.booleans())
    split_form = draw(st.sampled_from(["1", "on", "true"] if split else ["0", "off", "false"]))
    return {
        "length": draw(st.sampled_from([length, str(length)])),
        "split": draw(st.sampled_from([split, split_form, int(split)])),
        "split_interval": draw(st.sampled_from([interval, str(interval)])),
        "case": draw(st.sampled_from(["upper", "lower", "mixed"])),
        "prefix": draw(st.text(alphabet=PREFIX_CHARS, max_size=16)),
    }


def expected_groups(length: int, interval: int) -> list[int]:
    return [min(interval, length - start) for start in range(0, length, interval)]


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(valid_configs())
def test_every_valid_config_gives_prefix_plus_exactly_length_hex_chars(
    raw: dict[str, Any],
) -> None:
    fmt = parse_config(raw)
    key = generate_key(fmt)
    assert key.startswith(fmt.prefix)
    body = key[len(fmt.prefix) :]
    assert re.fullmatch(r"[0-9A-Fa-f-]*", body)
    assert len(body.replace("-", "")) == int(raw["length"])


@settings(deadline=None)
@given(valid_configs())
def test_split_keys_are_groups_of_split_interval_with_no_trailing_dash(
    raw: dict[str, Any],
) -> None:
    fmt = parse_config({**raw, "split": "on"})
    body = generate_key(fmt)[len(fmt.prefix) :]
    assert not body.endswith("-")
    assert not body.startswith("-")
    groups = body.split("-")
    assert [len(group) for group in groups] == expected_groups(fmt.length, fmt.split_interval)


@settings(deadline=None)
@given(valid_configs())
def test_unsplit_keys_have_no_dashes(raw: dict[str, Any]) -> None:
    fmt = parse_config({**raw, "split": "0"})
    assert "-" not in generate_key(fmt)


@settings(deadline=None)
@given(valid_configs())
def test_the_case_rule_holds_for_upper_and_lower_keys(raw: dict[str, Any]) -> None:
    upper = parse_config({**raw, "case": "upper"})
    lower = parse_config({**raw, "case": "lower"})
    assert not re.search("[a-f]", generate_key(upper)[len(upper.prefix) :])
    assert not re.search("[A-F]", generate_key(lower)[len(lower.prefix) :])


def test_mixed_case_keys_hold_both_upper_and_lower_letters() -> None:
    fmt = parse_config({"length": 256, "case": "mixed", "split": False})
    key = generate_key(fmt)
    # 256 hex chars hold about 96 letters; all of one case has probability 2**-95.
    assert re.search("[a-f]", key) and re.search("[A-F]", key)


def test_two_generated_keys_differ() -> None:
    fmt = parse_config({"length": 16})
    assert len({generate_key(fmt) for _ in range(50)}) == 50


@settings(deadline=None)
@given(valid_configs())
def test_parsed_config_round_trips_through_its_stored_form(raw: dict[str, Any]) -> None:
    fmt = parse_config(raw)
    assert parse_config(fmt.to_config()) == fmt


def test_form_strings_are_coerced_to_numbers_and_booleans() -> None:
    fmt = parse_config(
        {"length": "32", "split": "1", "split_interval": "4", "case": "Lower", "prefix": "sk_"}
    )
    assert fmt == KeyFormat(length=32, split=True, split_interval=4, case="lower", prefix="sk_")
    assert parse_config({"split": "0"}).split is False
    assert parse_config({"split": "on"}).split is True


def test_an_empty_config_gets_the_documented_defaults() -> None:
    assert parse_config({}).to_config() == {
        "length": 32,
        "split": True,
        "split_interval": 8,
        "case": "upper",
        "prefix": "",
    }
    assert parse_config(None) == KeyFormat()


def test_default_key_looks_like_four_upper_case_groups_of_eight() -> None:
    key = generate_key(parse_config({}))
    assert re.fullmatch(r"[0-9A-F]{8}(-[0-9A-F]{8}){3}", key)


def test_the_prefix_is_prepended_as_is() -> None:
    key = generate_key(parse_config({"prefix": "sk_live_", "case": "lower"}))
    assert re.fullmatch(r"sk_live_[0-9a-f]{8}(-[0-9a-f]{8}){3}", key)


# -- refusals: each names the key and its rule ------------------------------------------------


def refusal(raw: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_config(raw)
    return caught.value.message


LENGTH_RULE = "length must be a whole number from 16 to 256"


@pytest.mark.parametrize("length", [15, 257, "15", "257", 0, -32, "abc", "", [32], None, 32.5])
def test_length_outside_16_to_256_or_not_a_number_is_refused_with_the_rule(length: Any) -> None:
    assert refusal({"length": length}) == LENGTH_RULE


@settings(deadline=None)
@given(st.integers().filter(lambda n: not 16 <= n <= 256))
def test_any_whole_number_length_outside_16_to_256_is_refused(length: int) -> None:
    assert refusal({"length": length}) == LENGTH_RULE
    assert refusal({"length": str(length)}) == LENGTH_RULE


BUILTIN_KEYS = {"length", "split", "split_interval", "case", "prefix"}


@settings(deadline=None)
@given(st.text(min_size=1, max_size=30).filter(lambda k: k not in BUILTIN_KEYS))
def test_any_key_that_is_neither_built_in_nor_custom_is_refused(key: str) -> None:
    if key.startswith("custom_"):
        key = "x" + key
    assert refusal({key: "1"}).startswith(f"Unknown config key '{key}'")


def test_length_true_is_refused_rather_than_read_as_one() -> None:
    assert refusal({"length": True}) == LENGTH_RULE


def test_length_below_16_is_refused_with_the_rule() -> None:
    assert refusal({"length": 15}) == LENGTH_RULE


def test_length_above_256_is_refused_with_the_rule() -> None:
    assert refusal({"length": 257}) == LENGTH_RULE


@pytest.mark.parametrize("interval", [0, "0", -1, 33, "33", "x", [8]])
def test_split_interval_outside_1_to_length_is_refused_with_the_rule(interval: Any) -> None:
    assert refusal({"length": 32, "split_interval": interval}) == (
        "split_interval must be a whole number from 1 to 32"
    )


@settings(deadline=None)
@given(st.integers(min_value=16, max_value=255))
def test_split_interval_one_above_length_is_refused_naming_that_length(length: int) -> None:
    assert refusal({"length": length, "split_interval": length + 1}) == (
        f"split_interval must be a whole number from 1 to {length}"
    )


@pytest.mark.parametrize("split", ["maybe", 2, "2", [], None])
def test_split_that_is_not_a_boolean_is_refused_with_the_rule(split: Any) -> None:
    assert refusal({"split": split}) == "split must be true or false (1/0, on/off)"


@pytest.mark.parametrize("case", ["title", "", "UPPERCASE", 1, None, ["upper"]])
def test_an_unknown_case_is_refused_with_the_three_choices(case: Any) -> None:
    assert refusal({"case": case}) == "case must be one of upper, lower or mixed"


@pytest.mark.parametrize("prefix", ["sk-live", "a" * 17, "clé", "sk live", "sk.", 5, ["sk"]])
def test_a_bad_prefix_is_refused_with_the_rule(prefix: Any) -> None:
    assert refusal({"prefix": prefix}) == (
        "prefix must be at most 16 letters, digits or underscores"
    )


@settings(deadline=None)
@given(st.text(alphabet=PREFIX_CHARS, min_size=17, max_size=40))
def test_any_prefix_longer_than_16_is_refused(prefix: str) -> None:
    assert "prefix must be at most 16" in refusal({"prefix": prefix})


@pytest.mark.parametrize("name", ["", "1abc", "_x", "my-limit", "a b", "a" * 65, "é"])
def test_a_bad_custom_parameter_name_is_refused_naming_it_and_the_rule(name: str) -> None:
    message = refusal({f"custom_{name}": "1"})
    assert f"custom parameter name '{name[:64]}'" in message  # long names quoted in part
    assert "must start with a letter and hold at most 64 letters, digits or underscores" in message


@pytest.mark.parametrize("key", ["lenght", "Length", "customer", "custom", "api_key"])
def test_an_unknown_config_key_is_refused_naming_it_and_the_known_keys(key: str) -> None:
    assert refusal({key: "1"}) == (
        f"Unknown config key '{key}': expected one of "
        "length, split, split_interval, case, prefix, quota, quota_period, rate_limit "
        "or custom_<name>"
    )


def test_an_unknown_key_with_a_huge_name_is_quoted_only_in_part() -> None:
    message = refusal({"x" * 10_000: "1"})
    assert len(message) < 200
    assert "Unknown config key 'xxxx" in message


def test_a_custom_value_longer_than_1000_characters_is_refused_naming_the_key() -> None:
    assert refusal({"custom_note": "a" * 1001}) == (
        "custom_note must be a number or a text of at most 1000 characters"
    )


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, float("nan"), float("inf")])
def test_a_custom_value_that_is_neither_number_nor_text_is_refused(value: Any) -> None:
    assert "custom_limit must be a number or a text" in refusal({"custom_limit": value})


def test_more_than_100_custom_parameters_are_refused() -> None:
    raw = {f"custom_p{i}": i for i in range(MAX_CUSTOM_PARAMS + 1)}
    assert refusal(raw) == "at most 100 custom parameters are allowed"
    del raw[f"custom_p{MAX_CUSTOM_PARAMS}"]
    assert len(parse_config(raw).params) == MAX_CUSTOM_PARAMS


# -- custom parameters --------------------------------------------------------------------------


def test_custom_params_come_back_without_their_prefix_and_numeric_strings_as_numbers() -> None:
    stored = parse_config(
        {
            "custom_monthlyLimit": "250",
            "custom_ratio": "0.5",
            "custom_negative": "-3",
            "custom_plan": "gold",
            "custom_code": "12ab",
            "custom_blank": "",
            "custom_flag": True,
            "length": "32",
        }
    ).to_config()
    assert custom_params(stored) == {
        "monthlyLimit": 250,
        "ratio": 0.5,
        "negative": -3,
        "plan": "gold",
        "code": "12ab",
        "blank": "",
        "flag": 1,
    }


def test_custom_params_keep_exactly_1000_characters_of_text() -> None:
    assert parse_config({"custom_note": "n" * 1000}).params == {"note": "n" * 1000}


def test_custom_params_of_a_config_without_any_is_empty() -> None:
    assert custom_params(parse_config({"length": 64}).to_config()) == {}


@settings(deadline=None)
@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_every_whole_number_string_becomes_that_number(number: int) -> None:
    assert parse_config({"custom_n": str(number)}).params == {"n": number}


# -- lookup form --------------------------------------------------------------------------------


def test_normalize_key_ignores_case_and_surrounding_space_but_keeps_dashes() -> None:
    assert normalize_key("  AB12-CD34 ") == "ab12-cd34"
    assert normalize_key("AB12CD34") != normalize_key("AB12-CD34")
