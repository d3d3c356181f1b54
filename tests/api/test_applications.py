"""Applications (DESIGN.md section 11): their tokens, and key checks counted against them.

A guest key check with `Authorization: Bearer <application token>` spends the application's
budget, never the caller IP's `guest` or `guest_miss`; a wrong token is a 401 (code 201) that
spends one of the IP's guest calls, so tokens cannot be guessed faster than keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from tests.conftest import Api, FakeClock
from tests.support.api import admin_error

GUEST_CALLS = ["check", "get_info", "verify"]
BAD_TOKEN = {"message": "Authentication Failed: unknown application token", "code": 201}
NOT_FOUND = {"message": "Application not found", "code": 9999}
MakeClient = Callable[..., TestClient]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_application(api: Api, name: str = "Shop backend") -> dict[str, Any]:
    return dict(api.admin("application/create", name=name))


def call(
    client: TestClient, method: str, key: str, token: str | None = None, *, form: bool = False
) -> Any:
    """A guest serviceapikey call, by the fast lane (JSON) or the dispatcher (form body)."""
    path = f"/api/guest/serviceapikey/{method}"
    headers = bearer(token) if token is not None else None
    if form:
        return client.post(path, data={"key": key}, headers=headers)
    return client.post(path, json={"key": key}, headers=headers)


@pytest.fixture
def limited(settings: Settings, db: Database) -> Iterator[MakeClient]:
    """Clients of apps with small budgets, all from one IP; keyword args override settings."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        values = {
            "rate_limit_enabled": True,
            "rate_limit_guest": "10/minute",
            "rate_limit_guest_miss": "5/minute",
            **overrides,
        }
        app = create_app(settings.model_copy(update=values), database=db)
        opened.append(TestClient(app, client=("203.0.113.7", 40000)))
        return opened[-1]

    yield make
    for client in opened:
        client.close()


# --- the admin endpoints --------------------------------------------------------------------


def test_creating_an_application_shows_its_token_once(api: Api) -> None:
    created = new_application(api)
    assert set(created) == {"id", "token"}
    assert created["token"].startswith("kva_") and len(created["token"]) > 40
    (listed,) = api.admin("application/get_list")
    assert set(listed) == {"id", "name", "token_hint", "created_at", "updated_at"}
    assert (listed["id"], listed["name"]) == (created["id"], "Shop backend")
    assert listed["token_hint"] == created["token"][:12]
    assert created["token"] not in str(api.admin("application/get_list"))


def test_the_token_is_stored_only_as_a_digest(api: Api, db: Database) -> None:
    created = new_application(api)
    with db.engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text("SELECT * FROM applications"))]
    assert rows and created["token"] not in repr(rows)


def test_applications_are_listed_oldest_first(api: Api) -> None:
    ids = [new_application(api, name)["id"] for name in ("One", "Two", "Three")]
    listed = api.admin("application/get_list")
    assert [(a["id"], a["name"]) for a in listed] == list(
        zip(ids, ["One", "Two", "Three"], strict=True)
    )


def test_an_application_can_be_renamed_and_its_token_still_works(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    created = new_application(api)
    clock.advance(minutes=5)
    assert api.admin("application/update", id=created["id"], name="Renamed") is True
    (listed,) = api.admin("application/get_list")
    assert listed["name"] == "Renamed"
    assert listed["updated_at"] != listed["created_at"]
    response = call(api.client, "check", active_order["key"], created["token"])
    assert response.json() == {"result": True, "error": None}


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_an_application_needs_a_name(api: Api, name: str) -> None:
    error = admin_error(api, "application/create", name=name)
    assert error["code"] == 9999
    assert api.admin("application/get_list") == []


def test_resetting_the_token_kills_the_old_one_and_the_new_one_works(
    api: Api, active_order: dict[str, Any]
) -> None:
    created = new_application(api)
    key = active_order["key"]
    assert call(api.client, "check", key, created["token"]).json()["result"] is True
    fresh = api.admin("application/reset_token", id=created["id"])
    assert fresh["id"] == created["id"] and fresh["token"] != created["token"]
    for form in (False, True):
        old = call(api.client, "check", key, created["token"], form=form)
        assert (old.status_code, old.json()) == (401, {"result": None, "error": BAD_TOKEN})
        new = call(api.client, "check", key, fresh["token"], form=form)
        assert new.json() == {"result": True, "error": None}
    (listed,) = api.admin("application/get_list")
    assert listed["token_hint"] == fresh["token"][:12]


def test_deleting_an_application_makes_its_token_a_401(
    api: Api, active_order: dict[str, Any]
) -> None:
    created = new_application(api)
    assert call(api.client, "verify", active_order["key"], created["token"]).status_code == 200
    assert api.admin("application/delete", id=created["id"]) is True
    assert api.admin("application/get_list") == []
    for method in GUEST_CALLS:
        gone = call(api.client, method, active_order["key"], created["token"])
        assert (gone.status_code, gone.json()["error"]) == (401, BAD_TOKEN)


@pytest.mark.parametrize(
    ("method", "params"),
    [("update", {"name": "X"}), ("reset_token", {}), ("delete", {})],
)
def test_an_unknown_application_is_not_found(api: Api, method: str, params: dict[str, Any]) -> None:
    assert admin_error(api, f"application/{method}", id=98765, **params) == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("create", {"name": "Mine"}),
        ("get_list", {}),
        ("update", {"id": 1, "name": "Mine"}),
        ("reset_token", {"id": 1}),
        ("delete", {"id": 1}),
    ],
)
def test_only_an_admin_manages_applications(
    api: Api, customer: dict[str, Any], method: str, params: dict[str, Any]
) -> None:
    created = new_application(api)
    for auth in (customer["auth"], None, ("admin", "wrong-token")):
        status, body = api.call(f"admin/application/{method}", auth=auth, **params)
        assert body["result"] is None and status == 401, (auth, body)
        assert body["error"]["code"] in (201, 203), (auth, body)
    # An application token is not an admin credential either.
    response = api.client.post(
        f"/api/admin/application/{method}", json=params, headers=bearer(created["token"])
    )
    assert response.status_code == 401 and response.json()["result"] is None
    (listed,) = api.admin("application/get_list")
    assert (listed["id"], listed["name"]) == (created["id"], "Shop backend")


# --- wrong tokens -------------------------------------------------------------------------


@pytest.mark.parametrize("form", [False, True], ids=["fast_lane", "dispatcher"])
@pytest.mark.parametrize("method", GUEST_CALLS)
@pytest.mark.parametrize(
    "token", ["kva_wrong", "wrong", "", "kva_" + "x" * 300, "kva_\u00e9t\u00e9"]
)
def test_a_wrong_token_is_a_401_with_code_201_on_both_lanes(
    api: Api, active_order: dict[str, Any], method: str, form: bool, token: str
) -> None:
    new_application(api)
    headers = {b"authorization": ("Bearer " + token).encode()}  # bytes: any octets go
    path = f"/api/guest/serviceapikey/{method}"
    body = {"key": active_order["key"]}
    response = (
        api.client.post(path, data=body, headers=headers)
        if form
        else api.client.post(path, json=body, headers=headers)
    )
    assert (response.status_code, response.json()) == (401, {"result": None, "error": BAD_TOKEN})


@pytest.mark.parametrize("method", GUEST_CALLS)
def test_a_right_token_answers_as_a_guest_call_does_on_both_lanes(
    api: Api, active_order: dict[str, Any], method: str
) -> None:
    token = new_application(api)["token"]
    for key in (active_order["key"], "NOPE-NOPE"):
        plain = call(api.client, method, key)
        for form in (False, True):
            with_token = call(api.client, method, key, token, form=form)
            assert (with_token.status_code, with_token.json()) == (
                plain.status_code,
                plain.json(),
            ), (key, form)


# --- budgets ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", GUEST_CALLS)
@pytest.mark.parametrize("form", [False, True], ids=["fast_lane", "dispatcher"])
def test_bad_keys_through_an_application_token_never_lock_its_customers_out(
    api: Api, limited: MakeClient, active_order: dict[str, Any], method: str, form: bool
) -> None:
    client = limited()
    token = new_application(api)["token"]
    statuses = {call(client, method, f"BAD-{n}", token, form=form).status_code for n in range(100)}
    assert statuses == {200}
    valid = call(client, method, active_order["key"], token, form=form)
    assert valid.status_code == 200
    result = valid.json()["result"]
    assert result is True or result["valid"] is True


@pytest.mark.parametrize("method", GUEST_CALLS)
def test_the_same_bad_keys_without_a_token_are_throttled(
    api: Api, limited: MakeClient, active_order: dict[str, Any], method: str
) -> None:
    client = limited()
    statuses = [call(client, method, f"BAD-{n}").status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]  # guest_miss is 5 a minute
    refused = call(client, method, active_order["key"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, 429)
    # The application still gets through from the very same IP.
    token = new_application(api)["token"]
    assert call(client, method, active_order["key"], token).status_code == 200


def test_an_applications_budget_refuses_with_429_and_leaves_the_ips_guest_budget_alone(
    api: Api, limited: MakeClient, active_order: dict[str, Any], clock: FakeClock
) -> None:
    client = limited(rate_limit_application="3/minute", rate_limit_guest="2/minute")
    token = new_application(api)["token"]
    key = active_order["key"]
    statuses = [call(client, "check", key, token).status_code for _ in range(3)]
    statuses += [call(client, "verify", key, token, form=True).status_code]
    statuses += [call(client, "get_info", key, token).status_code]
    assert statuses == [200, 200, 200, 429, 429]
    refused = call(client, "check", key, token)
    assert refused.json()["error"]["code"] == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Limit"] == "3"
    # The caller IP's own guest budget (2 a minute) is untouched.
    assert [call(client, "check", key).status_code for _ in range(3)] == [200, 200, 429]
    clock.advance(seconds=60)
    assert call(client, "check", key, token).json() == {"result": True, "error": None}


def test_each_application_has_a_budget_of_its_own(
    api: Api, limited: MakeClient, active_order: dict[str, Any]
) -> None:
    client = limited(rate_limit_application="2/minute")
    first, second = new_application(api, "One")["token"], new_application(api, "Two")["token"]
    key = active_order["key"]
    assert [call(client, "check", key, first).status_code for _ in range(3)] == [200, 200, 429]
    assert [call(client, "check", key, second).status_code for _ in range(3)] == [200, 200, 429]


def test_an_applications_calls_carry_its_ratelimit_headers(
    api: Api, limited: MakeClient, active_order: dict[str, Any]
) -> None:
    client = limited(rate_limit_application="50/minute")
    token = new_application(api)["token"]
    for form in (False, True):
        response = call(client, "check", active_order["key"], token, form=form)
        assert response.headers["RateLimit-Limit"] == "50"
    assert int(response.headers["RateLimit-Remaining"]) == 48


@pytest.mark.parametrize("form", [False, True], ids=["fast_lane", "dispatcher"])
def test_wrong_tokens_spend_the_ips_guest_budget_so_guessing_tokens_is_throttled(
    api: Api, limited: MakeClient, active_order: dict[str, Any], form: bool
) -> None:
    client = limited(rate_limit_guest="3/minute", rate_limit_guest_miss="100/minute")
    token = new_application(api)["token"]
    key = active_order["key"]
    guesses = [call(client, "check", key, f"kva_guess{n}", form=form) for n in range(4)]
    assert [g.status_code for g in guesses] == [401, 401, 401, 429]
    assert guesses[-1].json()["error"]["code"] == 429
    assert call(client, "check", key, form=form).status_code == 429  # the IP's budget is spent
    # The real application keeps its own budget.
    assert call(client, "check", key, token, form=form).json() == {"result": True, "error": None}
