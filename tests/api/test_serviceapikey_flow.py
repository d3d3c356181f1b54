"""The flow of FOSSBilling's API-key documentation end to end: product with monthlyLimit ->
client -> order -> check."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


def test_active_key_checks_valid_and_returns_its_custom_parameters(
    api: Api, active_order: dict[str, Any]
) -> None:
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True
    info = api.guest("serviceapikey/get_info", key=active_order["key"])
    assert info == {"valid": True, "config": {"monthlyLimit": 250}}


def test_reset_kills_the_old_key_at_once(api: Api, active_order: dict[str, Any]) -> None:
    api.admin("serviceapikey/reset", order_id=active_order["id"])
    error = api.error("guest/serviceapikey/check", key=active_order["key"])
    assert error == {"message": "API key does not exist", "code": 9999}
    new_key = api.admin("order/service", id=active_order["id"])["api_key"]
    assert new_key != active_order["key"]
    assert api.guest("serviceapikey/check", key=new_key) is True
