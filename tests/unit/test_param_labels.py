"""Display labels of custom parameters (`label_<name>` in an API-key config) and the humanized
name customers read when a parameter has none; pure domain, no database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyvend.domain.errors import InvalidInput
from keyvend.domain.keygen import (
    MAX_LABEL,
    custom_params,
    display_labels,
    humanize,
    parse_config,
)

PARAM_NAMES = st.from_regex(re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}"), fullmatch=True)


def refusal(config: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_config(config)
    return caught.value


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("monthlyLimit", "Monthly limit"),
        ("max_requests", "Max requests"),
        ("maxRPS", "Max RPS"),
        ("userID", "User ID"),
        ("HTTPSOnly", "HTTPS only"),
        ("v2Endpoint", "V2 endpoint"),
        ("region", "Region"),
        ("a__b_", "A b"),
    ],
)
def test_a_name_reads_as_words_with_acronyms_kept(name: str, words: str) -> None:
    assert humanize(name) == words


@settings(deadline=None, max_examples=300)
@given(PARAM_NAMES)
def test_any_parameter_name_becomes_capitalized_words_keeping_every_letter_and_digit(
    name: str,
) -> None:
    words = humanize(name)
    assert words[0].isupper()
    assert "_" not in words and "  " not in words and words == words.strip()
    assert words.replace(" ", "").lower() == name.replace("_", "").lower()
    assert len(words) <= 2 * len(name)


LOWER_WORDS = st.lists(st.from_regex(r"[a-z]{2,10}", fullmatch=True), min_size=1, max_size=6)


@settings(deadline=None, max_examples=300)
@given(LOWER_WORDS)
def test_snake_and_camel_case_names_of_the_same_words_read_alike(words: list[str]) -> None:
    """Words of two letters or more: single letters in a row (`aBC`) read as an acronym."""
    snake = "_".join(words)
    camel = words[0] + "".join(w.capitalize() for w in words[1:])
    assert humanize(snake) == humanize(camel) == " ".join(words).capitalize()


def test_a_label_is_stored_trimmed_right_after_its_parameter() -> None:
    config = parse_config(
        {"custom_monthlyLimit": "250", "label_monthlyLimit": "  Monthly quota ", "custom_x": 1}
    ).to_config()
    keys = list(config)
    assert config["label_monthlyLimit"] == "Monthly quota"
    assert keys.index("label_monthlyLimit") == keys.index("custom_monthlyLimit") + 1
    assert "label_x" not in config


def test_an_empty_label_is_no_label() -> None:
    config = parse_config({"custom_region": "eu", "label_region": "   "}).to_config()
    assert "label_region" not in config
    assert display_labels(config) == {"region": "Region"}


def test_labels_are_never_custom_parameters() -> None:
    config = parse_config({"custom_monthlyLimit": 250, "label_monthlyLimit": "Quota"}).to_config()
    assert custom_params(config) == {"monthlyLimit": 250}


def test_a_parameter_named_like_a_label_stays_a_parameter() -> None:
    config = parse_config({"custom_label_x": "1", "custom_x": 2}).to_config()
    assert custom_params(config) == {"label_x": 1, "x": 2}
    assert display_labels(config) == {"label_x": "Label x", "x": "X"}


def test_display_labels_use_the_label_or_else_the_humanized_name() -> None:
    config = parse_config(
        {"custom_monthlyLimit": 250, "label_monthlyLimit": "Calls a month", "custom_max_rps": 5}
    ).to_config()
    assert display_labels(config) == {"monthlyLimit": "Calls a month", "max_rps": "Max rps"}


def test_a_label_without_its_parameter_is_refused_naming_both() -> None:
    error = refusal({"custom_monthlyLimit": 1, "label_monthlylimit": "Monthly"})
    assert error.message == (
        "Unknown config key 'label_monthlylimit': a label needs its custom parameter "
        "custom_monthlylimit in the same config"
    )
    assert error.field == "label_monthlylimit"


@pytest.mark.parametrize(
    "label", ["x" * (MAX_LABEL + 1), "two\nlines", "tab\there", 5, None, ["Monthly"]]
)
def test_a_label_too_long_on_several_lines_or_not_text_is_refused_at_its_field(
    label: Any,
) -> None:
    error = refusal({"custom_quota2": 1, "label_quota2": label})
    assert error.message == "label_quota2 must be a text of at most 64 characters on one line"
    assert error.field == "label_quota2"


def test_a_label_of_exactly_the_limit_with_any_script_is_kept() -> None:
    label = "Límite mensuel, 月 " + "x" * (MAX_LABEL - 18)
    assert len(label) == MAX_LABEL
    config = parse_config({"custom_limit": 1, "label_limit": label}).to_config()
    assert config["label_limit"] == label
