"""The admin order pages without JavaScript: list, create, lifecycle, and the key section."""

from __future__ import annotations

import re
from typing import Any

from keyvend.db.unit_of_work import Database
from keyvend.services import order as orders
from keyvend.services import serviceapikey
from tests.conftest import Api
from tests.web.conftest import Browsing, alert_of, flash_of


def _key_form(**changes: Any) -> dict[str, Any]:
    form = {
        "valid": "1",
        "length": "32",
        "split": "1",
        "split_interval": "8",
        "case": "upper",
        "prefix": "",
        "param_name": ["monthlyLimit"],
        "param_value": ["250"],
        "action": "save",
    }
    return {**form, **changes}


def test_admin_creates_an_active_order_for_a_client(
    admin_web: Browsing, customer: dict[str, Any], product_id: int, api: Api
) -> None:
    page = admin_web.get(f"/admin/orders/new?client_id={customer['id']}")
    assert f'<option value="{customer["id"]}" selected>' in page.text
    form = {
        "client_id": str(customer["id"]),
        "product_id": str(product_id),
        "period": "",
        "activate": "1",
    }
    page = admin_web.post("/admin/orders/new", form)
    order_id = int(page.url.path.rsplit("/", 1)[1])
    assert flash_of(page.text) == f"Order #{order_id} created."
    key = orders.service(api.client.app.state.db, order_id).api_key
    assert api.guest("serviceapikey/check", key=key) is True
    assert "\u2022" in page.text and key not in page.text  # masked until revealed


def test_order_form_errors_keep_the_choices(admin_web: Browsing, product_id: int) -> None:
    admin_web.get("/admin/orders/new")
    form = {"client_id": "", "product_id": str(product_id), "period": "1M"}
    page = admin_web.post("/admin/orders/new", form)
    assert page.status_code == 400
    assert alert_of(page.text) == "client is required: choose one from the list"
    assert f'<option value="{product_id}" selected>' in page.text and 'value="1M"' in page.text


def test_order_list_filters_by_status(
    admin_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    assert f"/admin/orders/{active_order['id']}" in admin_web.get("/admin/orders").text
    page = admin_web.get("/admin/orders?status=suspended")
    assert f"/admin/orders/{active_order['id']}" not in page.text
    assert "No orders with this status." in page.text


def test_suspend_with_a_reason_then_unsuspend_cancel_and_uncancel(
    admin_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    oid, key = active_order["id"], active_order["key"]
    admin_web.get(f"/admin/orders/{oid}")
    page = admin_web.post(
        f"/admin/orders/{oid}/status", {"action": "suspend", "reason": "Payment overdue"}
    )
    assert flash_of(page.text) == "Order suspended; its key no longer checks valid."
    assert "Reason: Payment overdue" in page.text
    assert api.guest("serviceapikey/check", key=key) is False
    steps = [("unsuspend", True), ("cancel", False), ("uncancel", True)]
    for action, valid in steps:
        admin_web.post(f"/admin/orders/{oid}/status", {"action": action, "reason": ""})
        assert api.guest("serviceapikey/check", key=key) is valid, action


def test_a_forbidden_transition_shows_why_on_the_order_page(
    admin_web: Browsing, active_order: dict[str, Any]
) -> None:
    admin_web.get(f"/admin/orders/{active_order['id']}")
    page = admin_web.post(f"/admin/orders/{active_order['id']}/status", {"action": "unsuspend"})
    assert page.status_code == 400
    assert alert_of(page.text) == (
        "Only orders that are suspended can be unsuspended; this order is active"
    )


def test_a_status_change_without_the_csrf_token_changes_nothing(
    admin_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    page = admin_web.post(
        f"/admin/orders/{active_order['id']}/status", {"action": "suspend", "csrf": None}
    )
    assert page.status_code == 403
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True


def test_renew_extends_the_expiry_only_once_confirmed(
    admin_web: Browsing, active_order: dict[str, Any], db: Database
) -> None:
    oid = active_order["id"]
    before = orders.get(db, oid).expires_at
    admin_web.get(f"/admin/orders/{oid}")
    page = admin_web.post(f"/admin/orders/{oid}/status", {"action": "renew"})
    assert page.status_code == 400
    assert alert_of(page.text) == "Confirm the renewal first: nothing was renewed."
    assert '<details class="confirm mild" open>' in page.text  # the second step, unfolded
    assert orders.get(db, oid).expires_at == before
    page = admin_web.post(f"/admin/orders/{oid}/status", {"action": "renew", "confirm": "1"})
    assert flash_of(page.text) == "Order renewed for another period."
    assert orders.get(db, oid).expires_at > before


def test_deleting_an_order_needs_confirmation(
    admin_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    oid = active_order["id"]
    admin_web.get(f"/admin/orders/{oid}")
    assert admin_web.post(f"/admin/orders/{oid}/delete", {}).status_code == 400
    page = admin_web.post(f"/admin/orders/{oid}/delete", {"confirm": "1"})
    assert flash_of(page.text) == f"Order #{oid} and its key were deleted."
    error = api.error("guest/serviceapikey/check", key=active_order["key"])
    assert error["message"] == "API key does not exist"


def test_reveal_shows_the_key_as_a_page_and_as_json(
    admin_web: Browsing, active_order: dict[str, Any]
) -> None:
    oid = active_order["id"]
    admin_web.get(f"/admin/orders/{oid}")
    page = admin_web.post(f"/admin/orders/{oid}/key/reveal", {})
    assert f">{active_order['key']}</code>" in page.text
    assert page.headers["cache-control"] == "no-store"
    as_json = admin_web.post(
        f"/admin/orders/{oid}/key/reveal", {}, headers={"Accept": "application/json"}
    )
    assert as_json.json() == {"key": active_order["key"]}


def test_reset_needs_confirmation_and_kills_the_old_key(
    admin_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    oid = active_order["id"]
    admin_web.get(f"/admin/orders/{oid}")
    assert admin_web.post(f"/admin/orders/{oid}/key/reset", {}).status_code == 400
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True
    page = admin_web.post(f"/admin/orders/{oid}/key/reset", {"confirm": "1"})
    assert flash_of(page.text) == "Key reset. The old key no longer works."
    assert api.error("guest/serviceapikey/check", key=active_order["key"])["code"] == 9999


def test_key_settings_change_config_and_validity_but_not_the_key(
    admin_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    oid, key = active_order["id"], active_order["key"]
    page = admin_web.get(f"/admin/orders/{oid}")
    assert "does not regenerate the current key" in page.text
    form = _key_form(valid=None, length="48", param_value=["500"])
    page = admin_web.post(f"/admin/orders/{oid}/key", form)
    assert flash_of(page.text) == "Key settings saved; the key is disabled."
    assert api.guest("serviceapikey/get_info", key=key) == {
        "valid": False,
        "config": {"monthlyLimit": 500},
    }
    admin_web.post(f"/admin/orders/{oid}/key/reset", {"confirm": "1"})
    new_key = api.admin("order/service", id=oid)["api_key"]
    assert len(new_key.replace("-", "")) == 48


def test_refused_key_settings_keep_what_was_typed_and_save_nothing(
    admin_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    oid = active_order["id"]
    admin_web.get(f"/admin/orders/{oid}")
    form = _key_form(valid=None, case="sideways", param_value=["999"])
    page = admin_web.post(f"/admin/orders/{oid}/key", form)
    assert page.status_code == 400
    assert alert_of(page.text) == "case must be one of upper, lower or mixed"
    assert 'value="999"' in page.text
    valid_box = re.search(r'<input id="f-valid"[^>]*>', page.text)
    assert valid_box and "checked" not in valid_box.group(0)  # unticked, as submitted
    info = serviceapikey.get_info(api.client.app.state.db, active_order["key"])
    assert info == {"valid": True, "config": {"monthlyLimit": 250}}


def test_an_order_without_a_key_says_so(
    admin_web: Browsing, customer: dict[str, Any], product_id: int, api: Api
) -> None:
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id)
    page = admin_web.get(f"/admin/orders/{oid}")
    assert "This order has no API key yet; activate it first" in page.text
    page = admin_web.post(f"/admin/orders/{oid}/status", {"action": "activate"})
    assert flash_of(page.text) == "Order activated; its key is issued."
    assert "Reveal" in page.text


def test_unknown_orders_are_a_404_page(admin_web: Browsing) -> None:
    assert admin_web.get("/admin/orders/999").status_code == 404
    assert admin_web.get(f"/admin/orders/{2**40}").status_code == 404
