"""The product module: admins define products, guests browse the enabled ones."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.support.api import admin_error

MONTHLY = {"type": "recurrent", "recurrent": {"1M": {"price": "5.00"}, "1Y": {"price": "50"}}}


def test_a_prepared_product_starts_disabled_free_and_with_the_default_key_format(
    api: Api,
) -> None:
    pid = api.admin("product/prepare", title="Starter", type="apikey")
    product = api.admin("product/get", id=pid)
    assert product["id"] == pid
    assert product["title"] == "Starter"
    assert product["type"] == "apikey"
    assert product["status"] == "disabled"
    assert product["setup"] == "after_payment"
    assert product["pricing"] == {"type": "free"}
    assert product["config"] == {
        "length": 32,
        "split": True,
        "split_interval": 8,
        "case": "upper",
        "prefix": "",
    }


def test_prepare_refuses_an_unknown_type_and_an_empty_title(api: Api) -> None:
    assert "apikey" in admin_error(api, "product/prepare", title="X", type="vps")["message"]
    assert "title" in admin_error(api, "product/prepare", title="   ", type="apikey")["message"]
    assert api.admin("product/get_list")["total"] == 0


def test_update_changes_title_description_status_and_setup(api: Api) -> None:
    pid = api.admin("product/prepare", title="Starter", type="apikey")
    assert (
        api.admin(
            "product/update",
            id=pid,
            title="Pro",
            description="For teams",
            status="enabled",
            setup="manual",
        )
        is True
    )
    product = api.admin("product/get", id=pid)
    assert (product["title"], product["description"]) == ("Pro", "For teams")
    assert (product["status"], product["setup"]) == ("enabled", "manual")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("status", "active", "status must be one of enabled, disabled"),
        ("setup", "later", "setup must be one of after_order, after_payment, manual"),
        ("title", "", "title is required"),
    ],
)
def test_update_refuses_a_status_setup_or_title_outside_its_rule(
    api: Api, field: str, value: str, words: str
) -> None:
    pid = api.admin("product/prepare", title="Starter", type="apikey")
    before = api.admin("product/get", id=pid)
    assert words in admin_error(api, "product/update", id=pid, **{field: value})["message"]
    assert api.admin("product/get", id=pid) == before


@pytest.mark.parametrize(
    ("pricing", "stored"),
    [
        ({"type": "free"}, {"type": "free"}),
        ({"type": "once", "once": {"price": "19.9"}}, {"type": "once", "once": {"price": "19.90"}}),
        (
            MONTHLY,
            {
                "type": "recurrent",
                "recurrent": {
                    "1M": {"price": "5.00", "enabled": True},
                    "1Y": {"price": "50.00", "enabled": True},
                },
            },
        ),
        (
            {"type": "recurrent", "recurrent": {"3m": "12", "6M": {"price": 1, "enabled": "0"}}},
            {
                "type": "recurrent",
                "recurrent": {
                    "3M": {"price": "12.00", "enabled": True},
                    "6M": {"price": "1.00", "enabled": False},
                },
            },
        ),
    ],
)
def test_pricing_free_once_and_recurrent_is_stored_normalised(
    api: Api, pricing: dict[str, Any], stored: dict[str, Any]
) -> None:
    pid = api.admin("product/prepare", title="Starter", type="apikey")
    api.admin("product/update", id=pid, pricing=pricing)
    assert api.admin("product/get", id=pid)["pricing"] == stored


@pytest.mark.parametrize(
    ("pricing", "words"),
    [
        ({"type": "monthly"}, "pricing type must be free, once or recurrent"),
        ({}, "pricing type must be free, once or recurrent"),
        ({"type": "once", "once": {"price": "-1"}}, "pricing once price must be a price"),
        ({"type": "once", "once": {"price": "1.999"}}, "pricing once price must be a price"),
        ({"type": "once", "once": "12"}, "pricing once must be an object"),
        ({"type": "recurrent"}, "pricing recurrent must map periods"),
        ({"type": "recurrent", "recurrent": {}}, "pricing recurrent must map periods"),
        ({"type": "recurrent", "recurrent": {"13Q": "1"}}, "period must be 1-90D"),
        ({"type": "recurrent", "recurrent": {"0M": "1"}}, "period must be 1-90D"),
        ({"type": "recurrent", "recurrent": {"25M": "1"}}, "period must be 1-90D"),
        ({"type": "recurrent", "recurrent": {"6Y": "1"}}, "period must be 1-90D"),
        ({"type": "recurrent", "recurrent": {"91D": "1"}}, "period must be 1-90D"),
        ({"type": "recurrent", "recurrent": {"53W": "1"}}, "period must be 1-90D"),
        (
            {"type": "recurrent", "recurrent": {"1M": {"price": 5, "enabled": False}}},
            "at least one enabled period",
        ),
        (
            {"type": "recurrent", "recurrent": {"1M": {"price": 5, "enabled": "maybe"}}},
            "pricing recurrent 1M enabled must be true or false",
        ),
    ],
)
def test_pricing_with_a_bad_type_price_or_period_is_refused_and_nothing_is_saved(
    api: Api, pricing: dict[str, Any], words: str
) -> None:
    pid = api.admin("product/prepare", title="Starter", type="apikey")
    api.admin("product/update", id=pid, title="Renamed", pricing=MONTHLY)
    before = api.admin("product/get", id=pid)
    error = admin_error(api, "product/update", id=pid, title="Never", pricing=pricing)
    assert words in error["message"]
    assert error["code"] == 9999
    assert api.admin("product/get", id=pid) == before


def test_update_config_replaces_the_key_format_and_coerces_form_strings(api: Api) -> None:
    pid = api.admin("product/prepare", title="Starter", type="apikey")
    config = {
        "length": "40",
        "split": "0",
        "case": "mixed",
        "prefix": "sk_live_",
        "custom_monthlyLimit": "250",
        "custom_tier": "gold",
    }
    assert api.admin("product/update_config", id=pid, config=config) is True
    assert api.admin("product/get", id=pid)["config"] == {
        "length": 40,
        "split": False,
        "split_interval": 8,
        "case": "mixed",
        "prefix": "sk_live_",
        "custom_monthlyLimit": 250,
        "custom_tier": "gold",
    }


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"length": 15}, "length must be a whole number from 16 to 256"),
        ({"length": "257"}, "length must be a whole number from 16 to 256"),
        ({"split_interval": 0}, "split_interval must be a whole number from 1 to 32"),
        ({"case": "title"}, "case must be one of upper, lower or mixed"),
        ({"prefix": "sk-live"}, "prefix must be at most 16 letters"),
        ({"colour": "red"}, "Unknown config key 'colour'"),
        ({"custom_9lives": "1"}, "custom parameter name '9lives'"),
    ],
)
def test_update_config_refuses_bad_config_naming_the_key_and_saves_nothing(
    api: Api, config: dict[str, Any], words: str
) -> None:
    pid = api.admin("product/prepare", title="Starter", type="apikey")
    before = api.admin("product/get", id=pid)
    assert words in admin_error(api, "product/update_config", id=pid, config=config)["message"]
    assert api.admin("product/get", id=pid) == before


def test_admin_get_list_filters_by_status_type_and_title_and_paginates(api: Api) -> None:
    ids = [api.admin("product/prepare", title=t, type="apikey") for t in ("Alpha", "Beta", "Gamma")]
    api.admin("product/update", id=ids[1], status="enabled")
    everything = api.admin("product/get_list")
    assert [p["id"] for p in everything["list"]] == ids
    assert everything["total"] == 3
    enabled = api.admin("product/get_list", status="enabled")
    assert [p["title"] for p in enabled["list"]] == ["Beta"]
    assert [p["title"] for p in api.admin("product/get_list", search="AMM")["list"]] == ["Gamma"]
    assert api.admin("product/get_list", type="apikey")["total"] == 3
    page = api.admin("product/get_list", page=2, per_page=2)
    assert ([p["title"] for p in page["list"]], page["pages"]) == (["Gamma"], 2)
    assert "status" in admin_error(api, "product/get_list", status="gone")["message"]


def test_guests_see_only_enabled_products_without_the_key_format(api: Api, product_id: int) -> None:
    hidden = api.admin("product/prepare", title="Secret", type="apikey")
    listed = api.guest("product/get_list")
    assert [p["id"] for p in listed["list"]] == [product_id]
    assert listed["total"] == 1
    product = api.guest("product/get", id=product_id)
    assert product["params"] == {"monthlyLimit": 250}
    assert "config" not in product
    assert "status" not in product
    error = api.error("guest/product/get", id=hidden)
    assert error == {"message": "Product not found", "code": 9999}


def test_a_product_that_is_disabled_again_leaves_the_catalogue(api: Api, product_id: int) -> None:
    api.admin("product/update", id=product_id, status="disabled")
    assert api.guest("product/get_list")["list"] == []
    assert api.error("guest/product/get", id=product_id)["message"] == "Product not found"


def test_unknown_product_ids_are_not_found(api: Api) -> None:
    for path in ("product/get", "product/delete", "product/update"):
        assert admin_error(api, path, id=424242)["message"] == "Product not found"
    error = admin_error(api, "product/update_config", id=424242, config={})
    assert error["message"] == "Product not found"


def test_delete_removes_a_product_without_orders(api: Api) -> None:
    pid = api.admin("product/prepare", title="Short-lived", type="apikey")
    assert api.admin("product/delete", id=pid) is True
    assert admin_error(api, "product/get", id=pid)["message"] == "Product not found"


def test_delete_is_refused_while_the_product_has_a_live_order(
    api: Api, active_order: dict[str, Any], product_id: int
) -> None:
    error = admin_error(api, "product/delete", id=product_id)
    assert "pending, active or suspended orders" in error["message"]
    assert api.admin("product/get", id=product_id)["id"] == product_id
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True


def test_delete_is_allowed_once_the_orders_are_canceled_and_the_key_keeps_its_order(
    api: Api, active_order: dict[str, Any], product_id: int
) -> None:
    api.admin("order/cancel", id=active_order["id"])
    assert api.admin("product/delete", id=product_id) is True
    order = api.admin("order/get", id=active_order["id"])
    assert (order["product_id"], order["title"]) == (None, "Starter")
