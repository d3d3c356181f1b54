"""The serviceapikey module over HTTP: check, get_info, update, reset, order/service."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients
from tests.conftest import Api, FakeClock
from tests.support.keys import key_via_api
from tests.support.rows import stored

NO_SUCH_KEY = {"message": "API key does not exist", "code": 9999}
NO_KEY = {"message": "You must provide an API key to check it's validity.", "code": 9999}
NO_TARGET = {
    "message": "You must provide either the API key or API key order ID in order to reset it.",
    "code": 9999,
}
NO_CHANGE = {
    "message": "To change the API key, please use the reset function rather than updating it.",
    "code": 9999,
}
DEFAULT_FORMAT = re.compile(r"[0-9A-F]{8}(-[0-9A-F]{8}){3}")


@pytest.fixture
def other_order(api: Api, db: Database, product_id: int) -> dict[str, Any]:
    """An active order of a second client, Ann."""
    ann = clients.create(
        db, ClientCreate(email="ann@example.com", first_name="Ann", password="ann-pass-123")
    )
    oid = api.admin(
        "order/create", client_id=ann.id, product_id=product_id, period="1M", activate=True
    )
    return {"id": oid, "key": key_via_api(api, oid), "auth": ("client", ann.api_token)}


# --- check and get_info -------------------------------------------------------------------


def test_issued_key_has_the_default_format_of_four_dashed_groups_of_eight_upper_hex(
    active_order: dict[str, Any],
) -> None:
    assert DEFAULT_FORMAT.fullmatch(active_order["key"])


def test_check_of_an_unknown_key_says_the_key_does_not_exist(api: Api, active_order: Any) -> None:
    assert api.error("guest/serviceapikey/check", key="NOPE-NOPE") == NO_SUCH_KEY


def test_get_info_of_an_unknown_key_says_the_key_does_not_exist(
    api: Api, active_order: Any
) -> None:
    assert api.error("guest/serviceapikey/get_info", key="ABCDEF12-00000000") == NO_SUCH_KEY


@pytest.mark.parametrize("params", [{}, {"key": ""}, {"key": "   "}, {"key": None}])
def test_check_without_a_key_asks_for_one(api: Api, params: dict[str, Any]) -> None:
    assert api.error("guest/serviceapikey/check", **params) == NO_KEY


@pytest.mark.parametrize("params", [{}, {"key": ""}])
def test_get_info_without_a_key_asks_for_one(api: Api, params: dict[str, Any]) -> None:
    assert api.error("guest/serviceapikey/get_info", **params) == NO_KEY


def test_an_absurdly_long_key_is_simply_unknown(api: Api, active_order: Any) -> None:
    assert api.error("guest/serviceapikey/check", key="A" * 590) == NO_SUCH_KEY


def test_check_by_query_string_works_like_fossbilling_get_calls(
    api: Api, active_order: dict[str, Any]
) -> None:
    response = api.client.get("/api/guest/serviceapikey/check", params={"key": active_order["key"]})
    assert response.status_code == 200
    assert response.json() == {"result": True, "error": None}


@pytest.mark.parametrize("variant", [str.lower, str.upper, str.swapcase])
def test_key_lookup_ignores_letter_case(
    api: Api, active_order: dict[str, Any], variant: Any
) -> None:
    key = active_order["key"].lower()  # an upper-case key: make a visible case change first
    assert api.guest("serviceapikey/check", key=variant(key)) is True


def test_key_lookup_ignores_letter_case_of_a_mixed_case_key(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    oid = api.admin(
        "order/create",
        client_id=customer["id"],
        product_id=product_id,
        config={"case": "mixed", "length": 64},
        activate=True,
    )
    key = key_via_api(api, oid)
    for variant in (key, key.lower(), key.upper(), key.swapcase()):
        assert api.guest("serviceapikey/check", key=variant) is True


def test_key_lookup_treats_dashes_as_significant(api: Api, active_order: dict[str, Any]) -> None:
    key = active_order["key"]
    assert api.error("guest/serviceapikey/check", key=key.replace("-", "")) == NO_SUCH_KEY
    assert api.error("guest/serviceapikey/check", key=key[:-1]) == NO_SUCH_KEY
    assert api.error("guest/serviceapikey/check", key=key + "-") == NO_SUCH_KEY


def test_key_is_valid_until_the_moment_its_order_expires(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    order = api.admin("order/get", id=active_order["id"])
    expires_at = datetime.fromisoformat(order["expires_at"])
    clock.now = expires_at - timedelta(seconds=1)
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True
    clock.now = expires_at
    assert api.guest("serviceapikey/check", key=active_order["key"]) is False


def test_expired_key_checks_false_but_still_returns_its_parameters(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    clock.advance(days=32)
    assert api.guest("serviceapikey/check", key=active_order["key"]) is False
    info = api.guest("serviceapikey/get_info", key=active_order["key"])
    assert info == {"valid": False, "config": {"monthlyLimit": 250}}


def test_order_without_a_period_never_expires(
    api: Api, product_id: int, customer: dict[str, Any], clock: FakeClock
) -> None:
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id, activate=True)
    clock.advance(days=3650)
    assert api.guest("serviceapikey/check", key=key_via_api(api, oid)) is True


def test_admin_can_disable_and_re_enable_a_key(api: Api, active_order: dict[str, Any]) -> None:
    key = active_order["key"]
    assert api.admin("serviceapikey/update", order_id=active_order["id"], valid=0) is True
    assert api.guest("serviceapikey/check", key=key) is False
    assert api.guest("serviceapikey/get_info", key=key)["valid"] is False
    assert api.admin("serviceapikey/update", order_id=active_order["id"], valid=1) is True
    assert api.guest("serviceapikey/check", key=key) is True


def test_disabling_a_key_does_not_change_the_key(api: Api, active_order: dict[str, Any]) -> None:
    api.admin("serviceapikey/update", order_id=active_order["id"], valid=False)
    assert key_via_api(api, active_order["id"]) == active_order["key"]


def test_disabled_key_stays_invalid_while_its_order_is_active_and_unexpired(
    api: Api, active_order: dict[str, Any]
) -> None:
    api.admin("serviceapikey/update", order_id=active_order["id"], valid=0)
    api.admin("order/renew", id=active_order["id"])
    assert api.admin("order/get", id=active_order["id"])["status"] == "active"
    assert api.guest("serviceapikey/check", key=active_order["key"]) is False


def test_get_info_returns_custom_parameters_without_prefix_and_numbers_as_numbers(
    api: Api, active_order: dict[str, Any]
) -> None:
    config = {
        "custom_monthlyLimit": "250",
        "custom_somethingElse": "1150",
        "custom_astring": "words",
        "custom_ratio": "0.25",
        "custom_burst": 12,
    }
    api.admin("serviceapikey/update", order_id=active_order["id"], config=config)
    info = api.guest("serviceapikey/get_info", key=active_order["key"])
    assert info == {
        "valid": True,
        "config": {
            "monthlyLimit": 250,
            "somethingElse": 1150,
            "astring": "words",
            "ratio": 0.25,
            "burst": 12,
        },
    }
    assert type(info["config"]["monthlyLimit"]) is int


def test_get_info_hides_the_key_format_settings(api: Api, active_order: dict[str, Any]) -> None:
    info = api.guest("serviceapikey/get_info", key=active_order["key"])
    assert set(info["config"]) == {"monthlyLimit"}


# --- admin update -------------------------------------------------------------------------


def test_update_replaces_the_config_wholesale(api: Api, active_order: dict[str, Any]) -> None:
    api.admin("serviceapikey/update", order_id=active_order["id"], config={"custom_tier": "gold"})
    info = api.guest("serviceapikey/get_info", key=active_order["key"])
    assert info["config"] == {"tier": "gold"}
    service = api.admin("order/service", id=active_order["id"])
    assert service["config"] == {
        "length": 32,
        "split": True,
        "split_interval": 8,
        "case": "upper",
        "prefix": "",
        "custom_tier": "gold",
    }


def test_update_accepts_a_form_body_with_php_style_brackets(
    api: Api, active_order: dict[str, Any]
) -> None:
    response = api.client.post(
        "/api/admin/serviceapikey/update",
        data={
            "order_id": str(active_order["id"]),
            "config[custom_monthlyLimit]": "500",
            "config[custom_plan]": "pro",
        },
        auth=("admin", api.admin_token),
    )
    assert response.json() == {"result": True, "error": None}
    info = api.guest("serviceapikey/get_info", key=active_order["key"])
    assert info["config"] == {"monthlyLimit": 500, "plan": "pro"}


def test_update_keeps_the_config_when_only_validity_is_sent(
    api: Api, active_order: dict[str, Any]
) -> None:
    api.admin("serviceapikey/update", order_id=active_order["id"], valid=0)
    info = api.guest("serviceapikey/get_info", key=active_order["key"])
    assert info == {"valid": False, "config": {"monthlyLimit": 250}}


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"length": 15}, "length"),
        ({"length": 257}, "length"),
        ({"length": "long"}, "length"),
        ({"split": "perhaps"}, "split"),
        ({"length": 16, "split_interval": 17}, "split_interval"),
        ({"split_interval": 0}, "split_interval"),
        ({"case": "title"}, "case"),
        ({"prefix": "sk-live"}, "prefix"),
        ({"prefix": "p" * 17}, "prefix"),
        ({"colour": "red"}, "colour"),
        ({"custom_9lives": "1"}, "9lives"),
        ({"custom_note": "x" * 1001}, "custom_note"),
    ],
)
def test_update_refuses_bad_config_naming_the_key_and_saves_nothing(
    api: Api, db: Database, active_order: dict[str, Any], config: dict[str, Any], named: str
) -> None:
    before = stored(db)
    error = api.error(
        "admin/serviceapikey/update",
        auth=("admin", api.admin_token),
        order_id=active_order["id"],
        config={**config, "custom_monthlyLimit": "1"},
        valid=0,
    )
    assert error["code"] == 9999
    assert named in error["message"]
    assert stored(db) == before
    info = api.guest("serviceapikey/get_info", key=active_order["key"])
    assert info == {"valid": True, "config": {"monthlyLimit": 250}}


def test_update_refuses_a_validity_that_is_not_a_boolean(
    api: Api, db: Database, active_order: dict[str, Any]
) -> None:
    before = stored(db)
    error = api.error(
        "admin/serviceapikey/update",
        auth=("admin", api.admin_token),
        order_id=active_order["id"],
        valid="perhaps",
    )
    assert "valid" in error["message"]
    assert stored(db) == before


def test_update_refuses_to_change_the_api_key_and_saves_nothing(
    api: Api, db: Database, active_order: dict[str, Any]
) -> None:
    before = stored(db)
    error = api.error(
        "admin/serviceapikey/update",
        auth=("admin", api.admin_token),
        order_id=active_order["id"],
        api_key="ABCDEF01-23456789-ABCDEF01-23456789",
        config={"custom_monthlyLimit": "1"},
        valid=0,
    )
    assert error == NO_CHANGE
    assert stored(db) == before
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True


def test_update_accepts_the_current_api_key_unchanged(
    api: Api, active_order: dict[str, Any]
) -> None:
    result = api.admin(
        "serviceapikey/update",
        order_id=active_order["id"],
        api_key=active_order["key"],
        config={"custom_monthlyLimit": "300"},
    )
    assert result is True
    assert api.guest("serviceapikey/get_info", key=active_order["key"])["config"] == {
        "monthlyLimit": 300
    }


def test_update_of_an_order_without_a_key_says_the_key_does_not_exist(
    api: Api, active_order: dict[str, Any]
) -> None:
    error = api.error(
        "admin/serviceapikey/update",
        auth=("admin", api.admin_token),
        order_id=active_order["id"] + 1000,
        valid=0,
    )
    assert error == NO_SUCH_KEY


def test_update_touches_updated_at_but_not_created_at(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    before = api.admin("order/service", id=active_order["id"])
    clock.advance(hours=5)
    api.admin("serviceapikey/update", order_id=active_order["id"], valid=1)
    after = api.admin("order/service", id=active_order["id"])
    assert after["created_at"] == before["created_at"]
    assert datetime.fromisoformat(after["updated_at"]) == clock.now


# --- admin reset --------------------------------------------------------------------------


def test_admin_reset_by_key_replaces_the_key(api: Api, active_order: dict[str, Any]) -> None:
    assert api.admin("serviceapikey/reset", key=active_order["key"]) is True
    new_key = key_via_api(api, active_order["id"])
    assert new_key != active_order["key"]
    assert DEFAULT_FORMAT.fullmatch(new_key)
    assert api.error("guest/serviceapikey/check", key=active_order["key"]) == NO_SUCH_KEY
    assert api.guest("serviceapikey/check", key=new_key) is True


def test_admin_reset_by_key_ignores_letter_case(api: Api, active_order: dict[str, Any]) -> None:
    assert api.admin("serviceapikey/reset", key=active_order["key"].lower()) is True
    assert key_via_api(api, active_order["id"]) != active_order["key"]


def test_admin_reset_by_order_id_keeps_config_and_validity(
    api: Api, active_order: dict[str, Any]
) -> None:
    api.admin("serviceapikey/update", order_id=active_order["id"], valid=0)
    api.admin("serviceapikey/reset", order_id=active_order["id"])
    new_key = key_via_api(api, active_order["id"])
    assert api.guest("serviceapikey/get_info", key=new_key) == {
        "valid": False,
        "config": {"monthlyLimit": 250},
    }


@pytest.mark.parametrize("params", [{}, {"key": ""}, {"key": None, "order_id": None}])
def test_admin_reset_without_key_or_order_id_asks_for_one(
    api: Api, db: Database, active_order: Any, params: dict[str, Any]
) -> None:
    before = stored(db)
    error = api.error("admin/serviceapikey/reset", auth=("admin", api.admin_token), **params)
    assert error == NO_TARGET
    assert stored(db) == before


def test_admin_reset_of_an_unknown_key_says_the_key_does_not_exist(
    api: Api, db: Database, active_order: Any
) -> None:
    before = stored(db)
    auth = ("admin", api.admin_token)
    assert api.error("admin/serviceapikey/reset", auth=auth, key="NOT-A-KEY") == NO_SUCH_KEY
    assert api.error("admin/serviceapikey/reset", auth=auth, order_id=999_999) == NO_SUCH_KEY
    assert stored(db) == before


def test_admin_reset_with_a_key_of_another_order_finds_nothing(
    api: Api, db: Database, active_order: dict[str, Any], other_order: dict[str, Any]
) -> None:
    before = stored(db)
    error = api.error(
        "admin/serviceapikey/reset",
        auth=("admin", api.admin_token),
        order_id=active_order["id"],
        key=other_order["key"],
    )
    assert error == NO_SUCH_KEY
    assert stored(db) == before


@pytest.mark.parametrize(
    ("config", "pattern"),
    [
        (
            {"length": 40, "split": 0, "prefix": "sk_live_", "case": "lower"},
            r"sk_live_[0-9a-f]{40}",
        ),
        ({"length": 20, "split": 1, "split_interval": 5}, r"[0-9A-F]{5}(-[0-9A-F]{5}){3}"),
        ({"length": 18, "split": 1, "split_interval": 8}, r"[0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{2}"),
        ({"length": 256, "split": "0", "case": "upper"}, r"[0-9A-F]{256}"),
        ({"length": 16, "split": "off", "prefix": "T_", "case": "mixed"}, r"T_[0-9a-fA-F]{16}"),
    ],
)
def test_reset_issues_a_key_in_the_services_current_config(
    api: Api, active_order: dict[str, Any], config: dict[str, Any], pattern: str
) -> None:
    api.admin("serviceapikey/update", order_id=active_order["id"], config=config)
    assert key_via_api(api, active_order["id"]) == active_order["key"]  # update never rekeys
    api.admin("serviceapikey/reset", order_id=active_order["id"])
    new_key = key_via_api(api, active_order["id"])
    assert re.fullmatch(pattern, new_key), new_key
    assert api.guest("serviceapikey/check", key=new_key) is True


def test_reset_updates_updated_at_and_keeps_created_at(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    before = api.admin("order/service", id=active_order["id"])
    clock.advance(days=2)
    api.admin("serviceapikey/reset", order_id=active_order["id"])
    after = api.admin("order/service", id=active_order["id"])
    assert after["id"] == before["id"]
    assert after["created_at"] == before["created_at"]
    assert datetime.fromisoformat(after["updated_at"]) == clock.now


# --- client reset -------------------------------------------------------------------------


def test_client_resets_own_key_by_order_id(
    api: Api, active_order: dict[str, Any], customer: dict[str, Any]
) -> None:
    result = api.ok(
        "client/serviceapikey/reset", auth=customer["auth"], order_id=active_order["id"]
    )
    assert result is True
    new_key = key_via_api(api, active_order["id"])
    assert new_key != active_order["key"]
    assert api.error("guest/serviceapikey/check", key=active_order["key"]) == NO_SUCH_KEY
    assert api.guest("serviceapikey/check", key=new_key) is True


def test_client_resets_own_key_by_key(
    api: Api, active_order: dict[str, Any], customer: dict[str, Any]
) -> None:
    result = api.ok("client/serviceapikey/reset", auth=customer["auth"], key=active_order["key"])
    assert result is True
    assert key_via_api(api, active_order["id"]) != active_order["key"]


def test_client_reset_without_key_or_order_id_asks_for_one(
    api: Api, customer: dict[str, Any]
) -> None:
    assert api.error("client/serviceapikey/reset", auth=customer["auth"]) == NO_TARGET


@pytest.mark.parametrize("by", ["order_id", "key"])
def test_client_reset_of_another_clients_key_says_it_does_not_exist(
    api: Api,
    db: Database,
    customer: dict[str, Any],
    active_order: dict[str, Any],
    other_order: dict[str, Any],
    by: str,
) -> None:
    before = stored(db)
    target = {"order_id": other_order["id"]} if by == "order_id" else {"key": other_order["key"]}
    error = api.error("client/serviceapikey/reset", auth=customer["auth"], **target)
    assert error == NO_SUCH_KEY
    assert stored(db) == before
    assert api.guest("serviceapikey/check", key=other_order["key"]) is True


# --- order/service ------------------------------------------------------------------------


def test_admin_order_service_shows_key_config_and_dates(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    service = api.admin("order/service", id=active_order["id"])
    assert {"id", "api_key", "config", "created_at", "updated_at"} <= set(service)
    assert service["api_key"] == active_order["key"]
    assert service["config"] == {
        "length": 32,
        "split": True,
        "split_interval": 8,
        "case": "upper",
        "prefix": "",
        "custom_monthlyLimit": 250,
    }
    assert datetime.fromisoformat(service["created_at"]) == clock.now
    assert datetime.fromisoformat(service["updated_at"]) == clock.now


def test_owning_client_sees_the_same_service_as_the_admin(
    api: Api, active_order: dict[str, Any], customer: dict[str, Any]
) -> None:
    mine = api.ok("client/order/service", auth=customer["auth"], id=active_order["id"])
    assert mine == api.admin("order/service", id=active_order["id"])
    assert mine["api_key"] == active_order["key"]


def test_order_service_of_a_pending_order_explains_there_is_no_key_yet(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id, period="1M")
    error = api.error("admin/order/service", auth=("admin", api.admin_token), id=oid)
    assert error["code"] == 9999
    assert "activate" in error["message"]
