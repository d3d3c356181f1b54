"""PHP-style parameter names (config[custom_monthlyLimit]=250) and their malformed forms."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from keyvend.api.params import MAX_FIELDS, nest
from keyvend.domain.errors import MalformedCall


def form(query: str) -> dict[str, object]:
    return nest(parse_qsl(query, keep_blank_values=True))


def refusal(query: str) -> MalformedCall:
    with pytest.raises(MalformedCall) as caught:
        form(query)
    return caught.value


def test_plain_names_give_flat_text_values() -> None:
    assert form("key=ABC-123&order_id=7&empty=") == {"key": "ABC-123", "order_id": "7", "empty": ""}


def test_a_bracketed_name_gives_a_nested_object() -> None:
    assert form("id=3&config[custom_monthlyLimit]=250&config[length]=32") == {
        "id": "3",
        "config": {"custom_monthlyLimit": "250", "length": "32"},
    }


def test_nested_brackets_give_nested_objects() -> None:
    assert form("pricing[recurrent][1M][price]=9.99&pricing[type]=recurrent") == {
        "pricing": {"type": "recurrent", "recurrent": {"1M": {"price": "9.99"}}}
    }


def test_empty_brackets_collect_values_into_a_list_in_order() -> None:
    assert form("ids[]=3&ids[]=1&ids[]=2") == {"ids": ["3", "1", "2"]}


def test_a_list_may_sit_inside_an_object() -> None:
    assert form("filter[status][]=active&filter[status][]=suspended") == {
        "filter": {"status": ["active", "suspended"]}
    }


def test_a_repeated_plain_name_keeps_the_last_value_as_php_does() -> None:
    assert form("page=1&page=2") == {"page": "2"}


def test_brackets_in_urlencoded_form_are_read_after_decoding() -> None:
    assert form("config%5Bprefix%5D=sk_") == {"config": {"prefix": "sk_"}}


def test_a_closing_bracket_without_an_opening_one_is_part_of_the_name() -> None:
    assert form("a]b=1") == {"a]b": "1"}


def test_an_empty_input_gives_no_parameters() -> None:
    assert nest([]) == {}


@pytest.mark.parametrize("name", ["config[length", "config[a][b", "a[b]c", "a[b]x[c]", "[a]"])
def test_a_malformed_bracket_name_is_refused_with_code_701_quoting_it(name: str) -> None:
    error = refusal(f"{name}=1")
    assert error.code == 701
    assert error.message == f"Malformed parameter name {name!r}"


def test_a_malformed_name_is_quoted_only_in_part() -> None:
    error = refusal("a" * 500 + "[b=1")
    assert error.message == f"Malformed parameter name {'a' * 64!r}"


def test_five_levels_of_nesting_are_accepted() -> None:
    assert form("a[b][c][d][e]=1") == {"a": {"b": {"c": {"d": {"e": "1"}}}}}


def test_six_levels_of_nesting_are_refused_as_too_deep() -> None:
    error = refusal("a[b][c][d][e][f]=1")
    assert (error.code, error.message) == (701, "Parameter 'a[b][c][d][e][f]' is nested too deeply")


def test_a_list_of_lists_or_of_objects_is_refused() -> None:
    assert refusal("a[][]=1").message == "Lists may only hold plain values (a[]=1)"
    assert refusal("a[][b]=1").message == "Lists may only hold plain values (a[]=1)"


@pytest.mark.parametrize(
    "query",
    [
        "a=1&a[b]=2",
        "a[b]=2&a=1",
        "a[]=1&a[b]=2",
        "a[b]=1&a[]=2",
        "a=1&a[]=2",
        "a[]=1&a=2",
        "a[b]=1&a[b][c]=2",
    ],
)
def test_a_name_given_in_two_shapes_is_refused_whatever_the_order(query: str) -> None:
    error = refusal(query)
    assert error.code == 701
    assert error.message.endswith("is given in two shapes")


def test_at_most_1000_parameters_are_accepted() -> None:
    pairs = [(f"p{i}", "x") for i in range(MAX_FIELDS)]
    assert len(nest(pairs)) == MAX_FIELDS
    with pytest.raises(MalformedCall, match=r"^At most 1000 parameters are accepted$"):
        nest([*pairs, ("one_more", "x")])
