"""The pure pieces behind the pages: form fields to config and pricing, and key masking."""

from __future__ import annotations

import pytest

from keyvend.domain.errors import InvalidInput
from keyvend.web.forms import Form
from keyvend.web.product_form import (
    KeyFields,
    ParamRow,
    camel_case,
    config_from_fields,
    key_fields_for_action,
    key_fields_from_config,
    pricing_fields_from_form,
    pricing_fields_from_pricing,
    pricing_from_fields,
    sample_key,
)
from keyvend.web.templating import mask_key, pricing_summary


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("monthlyLimit", "monthlyLimit"),
        ("monthly limit", "monthlyLimit"),
        ("Monthly-Limit", "monthlyLimit"),
        ("  burst  rate limit ", "burstRateLimit"),
        ("max_calls", "max_calls"),
    ],
)
def test_parameter_names_are_camel_cased(typed: str, stored: str) -> None:
    assert camel_case(typed) == stored


def test_empty_rows_are_skipped_and_a_value_without_a_name_is_refused() -> None:
    fields = KeyFields(params=[ParamRow("monthly limit", "250"), ParamRow("", " ")])
    assert config_from_fields(fields)["custom_monthlyLimit"] == "250"
    assert "custom_" not in config_from_fields(fields)
    with pytest.raises(InvalidInput, match="needs a name"):
        config_from_fields(KeyFields(params=[ParamRow("", "250")]))


def test_stored_config_round_trips_through_the_form_fields() -> None:
    config = {
        "length": 24,
        "split": False,
        "split_interval": 6,
        "case": "mixed",
        "prefix": "sk_",
        "custom_monthlyLimit": 250,
    }
    fields = key_fields_from_config(config)
    assert fields.split is False and fields.params == [ParamRow("monthlyLimit", "250")]
    assert config_from_fields(fields) == {
        **config,
        "length": "24",
        "split_interval": "6",
        "custom_monthlyLimit": "250",
    }


def test_add_and_delete_row_actions_never_ask_to_save() -> None:
    rows = [("param_name", "a"), ("param_name", "b"), ("param_value", "1"), ("param_value", "2")]
    form = Form([*rows, ("action", "add_param")])
    fields, save = key_fields_for_action(form)
    assert not save and [p.name for p in fields.params] == ["a", "b", ""]
    fields, save = key_fields_for_action(
        Form([("param_name", "a"), ("param_name", "b"), ("delete_param", "0")])
    )
    assert not save and [p.name for p in fields.params] == ["b"]
    assert key_fields_for_action(Form({"action": "save"}))[1] is True


def test_sample_key_names_the_broken_rule() -> None:
    key, problem = sample_key(KeyFields(length="16", split=False, case="lower", prefix="x_"))
    assert problem is None and key is not None and len(key) == 18 and key.startswith("x_")
    assert sample_key(KeyFields(split_interval="99")) == (
        None,
        "split_interval must be a whole number from 1 to 32",
    )


def test_pricing_fields_round_trip() -> None:
    pricing = {
        "type": "recurrent",
        "recurrent": {
            "1M": {"price": "9.00", "enabled": True},
            "2M": {"price": "15.00", "enabled": False},
        },
    }
    fields = pricing_fields_from_pricing(pricing)
    assert [r.period for r in fields.periods][-1] == "2M"  # unusual periods are kept
    assert pricing_from_fields(fields) == pricing
    form = Form({"pricing_type": "once", "once_price": "4.50"})
    assert pricing_from_fields(pricing_fields_from_form(form)) == {
        "type": "once",
        "once": {"price": "4.50"},
    }
    assert pricing_summary(pricing) == "9.00 / 1 month"


def test_masking_keeps_the_prefix_dashes_and_last_four_characters() -> None:
    assert mask_key("sk_live_ABCD1234-EFGH5678", "sk_live_") == "sk_live_••••••••-••••5678"
    assert mask_key("BA907863-47C1A4F5", "") == "••••••••-••••A4F5"
