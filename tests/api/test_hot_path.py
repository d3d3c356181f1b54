"""The fast lane for key checks answers exactly as the general dispatcher does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


def both_lanes(api: Api, method: str, params: dict[str, Any]) -> tuple[Any, Any]:
    """The same call through the fast lane (JSON) and the dispatcher (form body)."""
    path = f"/api/guest/serviceapikey/{method}"
    fast = api.client.post(path, json=params)
    general = api.client.post(path, data=params)
    return (fast.status_code, fast.json()), (general.status_code, general.json())


@pytest.mark.parametrize("method", ["check", "get_info"])
def test_both_lanes_agree_on_valid_missing_empty_and_unknown_keys(
    api: Api, active_order: dict[str, Any], method: str
) -> None:
    for params in (
        {"key": active_order["key"]},
        {"key": active_order["key"].lower()},
        {"key": "NOT-A-KEY"},
        {"key": ""},
        {"key": "   "},
        {},
    ):
        fast, general = both_lanes(api, method, params)
        assert fast == general, params


def test_both_lanes_agree_on_a_suspended_key(api: Api, active_order: dict[str, Any]) -> None:
    api.admin("order/suspend", id=active_order["id"])
    fast, general = both_lanes(api, "get_info", {"key": active_order["key"]})
    assert (
        fast
        == general
        == (200, {"result": {"valid": False, "config": {"monthlyLimit": 250}}, "error": None})
    )


def test_both_lanes_agree_when_the_module_is_inactive(
    api: Api, active_order: dict[str, Any]
) -> None:
    api.admin("extension/deactivate", id="serviceapikey")
    fast, general = both_lanes(api, "check", {"key": active_order["key"]})
    assert fast == general
    assert fast[1]["error"]["code"] == 715


def test_a_query_string_check_takes_the_fast_lane_with_the_same_answer(
    api: Api, active_order: dict[str, Any]
) -> None:
    response = api.client.get("/api/guest/serviceapikey/check", params={"key": active_order["key"]})
    assert response.json() == {"result": True, "error": None}
    assert response.headers["content-type"] == "application/json"
