"""The extension module: deactivating serviceapikey keeps its data, uninstalling drops it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect

from keyvend.db.unit_of_work import Database
from tests.conftest import Api
from tests.support.api import admin_error

INACTIVE = {"message": "Module serviceapikey is not active", "code": 715}


def status_of(api: Api, name: str = "serviceapikey") -> str:
    rows = {row["id"]: row for row in api.admin("extension/get_list")}
    return str(rows[name]["status"])


def has_key_table(db: Database) -> bool:
    return inspect(db.engine).has_table("service_apikey")


def apikey_calls(
    order: dict[str, Any], customer: dict[str, Any], admin_token: str
) -> list[tuple[str, tuple[str, str] | None, dict[str, Any]]]:
    """Every serviceapikey call, and the order/service calls that show a key."""
    admin = ("admin", admin_token)
    return [
        ("guest/serviceapikey/check", None, {"key": order["key"]}),
        ("guest/serviceapikey/get_info", None, {"key": order["key"]}),
        ("admin/serviceapikey/update", admin, {"order_id": order["id"], "valid": False}),
        ("admin/serviceapikey/reset", admin, {"order_id": order["id"]}),
        ("client/serviceapikey/reset", customer["auth"], {"order_id": order["id"]}),
        ("admin/order/service", admin, {"id": order["id"]}),
        ("client/order/service", customer["auth"], {"id": order["id"]}),
    ]


def test_get_list_shows_serviceapikey_active_on_a_new_database(api: Api) -> None:
    assert api.admin("extension/get_list") == [
        {
            "id": "serviceapikey",
            "name": "serviceapikey",
            "type": "mod",
            "version": "1.0.0",
            "description": "API Key product type: sell API keys and verify them",
            "status": "active",
        }
    ]


def test_extension_calls_need_an_admin(api: Api, customer: dict[str, Any]) -> None:
    response = api.client.post("/api/admin/extension/get_list", auth=customer["auth"])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 203
    anonymous = api.client.post("/api/admin/extension/deactivate", json={"id": "serviceapikey"})
    assert anonymous.status_code == 401
    assert status_of(api) == "active"


def test_unknown_extensions_are_not_found(api: Api) -> None:
    for path in ("extension/activate", "extension/deactivate"):
        assert admin_error(api, path, id="servicevps") == {
            "message": "Extension servicevps not found",
            "code": 9999,
        }
    error = admin_error(api, "extension/uninstall", id="servicevps", confirm=True)
    assert error["message"] == "Extension servicevps not found"


def test_while_deactivated_every_apikey_endpoint_answers_715_with_http_200(
    api: Api, active_order: dict[str, Any], customer: dict[str, Any]
) -> None:
    assert api.admin("extension/deactivate", id="serviceapikey") is True
    assert status_of(api) == "inactive"
    for path, auth, params in apikey_calls(active_order, customer, api.admin_token):
        response = api.client.post(f"/api/{path}", json=params, auth=auth)
        assert response.status_code == 200, path
        assert response.json() == {"result": None, "error": INACTIVE}, path


def test_while_deactivated_the_apikey_type_cannot_be_used(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    api.admin("extension/deactivate", id="serviceapikey")
    assert admin_error(api, "product/prepare", title="New", type="apikey") == INACTIVE
    assert admin_error(api, "product/update_config", id=product_id, config={}) == INACTIVE
    order = {"client_id": customer["id"], "product_id": product_id}
    assert admin_error(api, "order/create", **order) == INACTIVE
    assert api.error("guest/cart/add_item", id=product_id) == INACTIVE
    assert api.admin("product/get_list")["total"] == 1
    assert api.admin("order/get_list")["total"] == 0


def test_deactivating_keeps_the_keys_and_activating_again_brings_them_back(
    api: Api, db: Database, active_order: dict[str, Any]
) -> None:
    api.admin("extension/deactivate", id="serviceapikey")
    assert has_key_table(db)
    assert api.admin("extension/activate", id="serviceapikey") is True
    assert status_of(api) == "active"
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True
    assert api.admin("order/service", id=active_order["id"])["api_key"] == active_order["key"]


def test_uninstall_without_confirm_is_refused_and_keeps_everything(
    api: Api, db: Database, active_order: dict[str, Any]
) -> None:
    for params in ({}, {"confirm": False}, {"confirm": "0"}):
        error = admin_error(api, "extension/uninstall", id="serviceapikey", **params)
        assert "send confirm=1" in error["message"]
    assert has_key_table(db)
    assert status_of(api) == "active"
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True


@pytest.mark.parametrize("deactivate_first", [True, False])
def test_uninstall_drops_the_table_and_the_keys_and_reactivation_issues_new_ones(
    api: Api, db: Database, active_order: dict[str, Any], deactivate_first: bool
) -> None:
    if deactivate_first:
        api.admin("extension/deactivate", id="serviceapikey")
    assert api.admin("extension/uninstall", id="serviceapikey", confirm=1) is True
    assert not has_key_table(db)
    assert status_of(api) == "not_installed"
    for method in ("check", "get_info"):
        assert api.error(f"guest/serviceapikey/{method}", key=active_order["key"]) == INACTIVE
    error = admin_error(api, "extension/deactivate", id="serviceapikey")
    assert error["message"] == "Extension serviceapikey is not installed"

    assert api.admin("extension/activate", id="serviceapikey") is True
    assert has_key_table(db)
    error = api.error("guest/serviceapikey/check", key=active_order["key"])
    assert error == {"message": "API key does not exist", "code": 9999}
    # The live order is not left without a key for ever: the reinstall issued a new one.
    new_key = api.admin("order/service", id=active_order["id"])["api_key"]
    assert new_key != active_order["key"]
    assert api.guest("serviceapikey/check", key=new_key) is True


def test_an_order_activated_after_reinstalling_gets_a_new_working_key(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    api.admin("extension/uninstall", id="serviceapikey", confirm=True)
    api.admin("extension/activate", id="serviceapikey")
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id, activate=True)
    key = api.admin("order/service", id=oid)["api_key"]
    assert api.guest("serviceapikey/check", key=key) is True
