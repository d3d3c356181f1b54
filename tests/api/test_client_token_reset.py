"""`admin/client/api_key_reset {id}`: an admin issues a client a new API token, shown once;
the old one stops working at once, and the change is an event of the client."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


def test_the_new_token_works_and_the_old_one_stops(api: Api, customer: dict[str, Any]) -> None:
    token = api.admin("client/api_key_reset", id=customer["id"])
    assert isinstance(token, str) and len(token) >= 32 and token != customer["token"]
    assert api.ok("client/profile/get", auth=("client", token))["email"] == customer["email"]
    refused = api.error("client/profile/get", auth=customer["auth"])
    assert refused["code"] == 201


def test_an_unknown_client_is_refused_and_nothing_changes(
    api: Api, customer: dict[str, Any]
) -> None:
    assert (
        api.error("admin/client/api_key_reset", auth=("admin", api.admin_token), id=999)["message"]
        == "Client not found"
    )
    assert api.ok("client/profile/get", auth=customer["auth"])["id"] == customer["id"]


def test_a_client_cannot_call_it(api: Api, customer: dict[str, Any]) -> None:
    error = api.error("admin/client/api_key_reset", auth=customer["auth"], id=customer["id"])
    assert error["code"] in (201, 203)
    assert api.ok("client/profile/get", auth=customer["auth"])["id"] == customer["id"]


def test_the_reset_is_recorded_without_the_token(api: Api, customer: dict[str, Any]) -> None:
    token = api.admin("client/api_key_reset", id=customer["id"])
    events = api.admin("activity/get_list", client_id=customer["id"], type="client.updated")
    assert events["list"][0]["data"] == {"fields": ["api_token"]}
    assert events["list"][0]["actor"].startswith("admin:")
    assert token not in str(events)
