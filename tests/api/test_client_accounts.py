"""Client accounts: admin management, sign-up, login, profile and API token reset."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.support.api import admin_error

LOGIN_FAILED = {"message": "Please check your login details", "code": 201}


def set_cookie_headers(response: Any) -> dict[str, str]:
    """Each Set-Cookie header of a response, by cookie name."""
    headers = response.headers.get_list("set-cookie")
    return {header.split("=", 1)[0]: header for header in headers}


def test_admin_creates_a_client_and_reads_it_back(api: Api) -> None:
    cid = api.admin("client/create", email=" Ann@Example.COM ", first_name="Ann", last_name="Lee")
    client = api.admin("client/get", id=cid)
    assert client["id"] == cid
    assert client["email"] == "ann@example.com"
    assert (client["first_name"], client["last_name"], client["status"]) == ("Ann", "Lee", "active")
    assert "password_hash" not in client
    assert "api_token_digest" not in client


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"email": "not-an-email", "first_name": "Ann"}, "email must be a valid email address"),
        ({"email": "a@example.com", "first_name": "  "}, "first_name is required"),
        ({"email": "a@example.com", "first_name": "Ann", "password": "short"}, "password must be"),
        ({"email": "a@example.com"}, "first_name: Field required"),
    ],
)
def test_admin_create_refuses_bad_fields_and_creates_nothing(
    api: Api, params: dict[str, Any], words: str
) -> None:
    assert words in admin_error(api, "client/create", **params)["message"]
    assert api.admin("client/get_list")["total"] == 0


def test_admin_create_refuses_an_email_that_is_already_registered(api: Api) -> None:
    api.admin("client/create", email="ann@example.com", first_name="Ann")
    error = admin_error(api, "client/create", email="ANN@example.com", first_name="Other")
    assert error == {"message": "Email ann@example.com is already registered", "code": 9999}
    assert api.admin("client/get_list")["total"] == 1


def test_admin_get_list_searches_email_and_names_newest_first(api: Api) -> None:
    ann = api.admin("client/create", email="ann@example.com", first_name="Ann", last_name="Lee")
    bob = api.admin("client/create", email="bob@corp.io", first_name="Bob", last_name="Stone")
    cyd = api.admin("client/create", email="cyd@corp.io", first_name="Cyd", last_name="Leeds")
    assert [c["id"] for c in api.admin("client/get_list")["list"]] == [cyd, bob, ann]
    assert [c["id"] for c in api.admin("client/get_list", search="CORP")["list"]] == [cyd, bob]
    assert [c["id"] for c in api.admin("client/get_list", search="lee")["list"]] == [cyd, ann]
    assert [c["id"] for c in api.admin("client/get_list", search="bob")["list"]] == [bob]
    assert api.admin("client/get_list", search="nobody")["total"] == 0
    page = api.admin("client/get_list", per_page=2, page=2)
    assert ([c["id"] for c in page["list"]], page["total"], page["pages"]) == ([ann], 3, 2)


def test_admin_update_changes_fields_and_status_filters_the_list(api: Api) -> None:
    cid = api.admin("client/create", email="ann@example.com", first_name="Ann")
    assert (
        api.admin(
            "client/update",
            id=cid,
            email="ann.lee@example.com",
            first_name="Annie",
            last_name="Lee",
            status="suspended",
        )
        is True
    )
    client = api.admin("client/get", id=cid)
    assert (client["email"], client["first_name"], client["last_name"]) == (
        "ann.lee@example.com",
        "Annie",
        "Lee",
    )
    assert [c["id"] for c in api.admin("client/get_list", status="suspended")["list"]] == [cid]
    assert api.admin("client/get_list", status="active")["total"] == 0


def test_admin_update_refuses_a_taken_email_a_bad_status_and_a_weak_password(api: Api) -> None:
    api.admin("client/create", email="ann@example.com", first_name="Ann")
    cid = api.admin("client/create", email="bob@example.com", first_name="Bob")
    before = api.admin("client/get", id=cid)
    assert (
        "already registered"
        in admin_error(api, "client/update", id=cid, email="ann@example.com")["message"]
    )
    assert (
        "status must be one of"
        in admin_error(api, "client/update", id=cid, status="banned")["message"]
    )
    assert (
        "password must be"
        in admin_error(api, "client/update", id=cid, first_name="Changed", password="123")[
            "message"
        ]
    )
    assert api.admin("client/get", id=cid) == before


def test_admin_update_sets_a_password_the_client_can_log_in_with(api: Api) -> None:
    cid = api.admin("client/create", email="ann@example.com", first_name="Ann")
    api.admin("client/update", id=cid, password="new-pass-123")
    result = api.guest("client/login", email="ann@example.com", password="new-pass-123")
    assert result["id"] == cid


def test_admin_delete_removes_the_client_with_their_orders_and_keys(
    api: Api, customer: dict[str, Any], active_order: dict[str, Any]
) -> None:
    assert api.admin("client/delete", id=customer["id"]) is True
    assert admin_error(api, "client/get", id=customer["id"])["message"] == "Client not found"
    assert admin_error(api, "order/get", id=active_order["id"])["message"] == "Order not found"
    error = api.error("guest/serviceapikey/check", key=active_order["key"])
    assert error["message"] == "API key does not exist"
    assert api.error("client/profile/get", auth=customer["auth"])["code"] == 201


def test_unknown_client_ids_are_not_found(api: Api) -> None:
    for path in ("client/get", "client/update", "client/delete"):
        assert admin_error(api, path, id=99999) == {"message": "Client not found", "code": 9999}


def test_a_guest_signs_up_and_can_log_in(api: Api) -> None:
    cid = api.guest(
        "client/create",
        email="new@example.com",
        first_name="New",
        last_name="Person",
        password="sign-up-pass",
        password_confirm="sign-up-pass",
    )
    assert api.admin("client/get", id=cid)["email"] == "new@example.com"
    assert api.guest("client/login", email="new@example.com", password="sign-up-pass")["id"] == cid


def test_sign_up_refuses_a_registered_email(api: Api, customer: dict[str, Any]) -> None:
    error = api.error(
        "guest/client/create", email=customer["email"], first_name="Twin", password="twin-pass-1"
    )
    assert error["message"] == "This email is already registered"
    assert api.admin("client/get_list")["total"] == 1


@pytest.mark.parametrize("password", ["", "short", "1234567", "x" * 257])
def test_sign_up_refuses_a_weak_or_absurd_password(api: Api, password: str) -> None:
    error = api.error(
        "guest/client/create", email="new@example.com", first_name="New", password=password
    )
    assert "password" in error["message"]
    if len(password) <= 256:  # a longer one is refused by the parameter check first
        assert error["message"] == "The password must be 8 to 256 characters long"
    assert api.admin("client/get_list")["total"] == 0


def test_sign_up_refuses_a_password_confirmation_that_differs(api: Api) -> None:
    error = api.error(
        "guest/client/create",
        email="new@example.com",
        first_name="New",
        password="sign-up-pass",
        password_confirm="sign-up-pas",
    )
    assert error["message"] == "The two passwords do not match"
    assert api.admin("client/get_list")["total"] == 0


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"email": "not-an-email"}, "Please enter a valid email address"),
        ({"first_name": "  "}, "Please enter your first name (at most 100 characters)"),
        ({"first_name": "x" * 101}, "Please enter your first name (at most 100 characters)"),
        ({"last_name": "x" * 101}, "Your last name can be at most 100 characters"),
    ],
)
def test_sign_up_refusals_speak_to_people_not_field_names(
    api: Api, params: dict[str, Any], words: str
) -> None:
    signup = {"email": "new@example.com", "first_name": "New", "password": "sign-up-pass"}
    assert api.error("guest/client/create", **{**signup, **params})["message"] == words
    assert api.admin("client/get_list")["total"] == 0


def test_login_sets_an_http_only_session_cookie_and_a_readable_csrf_cookie(
    api: Api, customer: dict[str, Any]
) -> None:
    response = api.client.post(
        "/api/guest/client/login",
        json={"email": customer["email"], "password": "jo-pass-123"},
    )
    body = response.json()
    assert body["error"] is None
    assert body["result"]["id"] == customer["id"]
    cookies = set_cookie_headers(response)
    session, csrf = cookies["keyvend_session"], cookies["keyvend_csrf"]
    assert "HttpOnly" in session and "samesite=lax" in session.lower()
    assert "HttpOnly" not in csrf and "samesite=lax" in csrf.lower()
    assert "Secure" not in session  # plain-HTTP localhost must keep working
    assert response.cookies["keyvend_csrf"] == body["result"]["csrf_token"]


def test_a_logged_in_session_reads_the_profile_with_the_csrf_header_only(
    api: Api, customer: dict[str, Any]
) -> None:
    login = api.guest("client/login", email="JO@example.com", password="jo-pass-123")
    without = api.client.post("/api/client/profile/get", json={})
    assert without.json()["error"]["code"] == 204
    assert without.status_code == 401
    wrong = api.client.post("/api/client/profile/get", headers={"X-CSRF-Token": "nope"})
    assert wrong.json()["error"]["code"] == 204
    right = api.client.post(
        "/api/client/profile/get", headers={"X-CSRF-Token": login["csrf_token"]}
    )
    assert right.json()["result"]["email"] == customer["email"]


def test_logout_ends_the_session_and_clears_the_cookies(api: Api, customer: dict[str, Any]) -> None:
    csrf = api.guest("client/login", email=customer["email"], password="jo-pass-123")["csrf_token"]
    response = api.client.post("/api/client/client/logout", headers={"X-CSRF-Token": csrf})
    assert response.json() == {"result": True, "error": None}
    assert "keyvend_session" not in api.client.cookies
    api.client.cookies.set("keyvend_session", "a-session-that-ended")
    stale = api.client.post("/api/client/profile/get", headers={"X-CSRF-Token": csrf})
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == 205


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("jo@example.com", "wrong-password"),
        ("nobody@example.com", "jo-pass-123"),
        ("nobody@example.com", "wrong-password"),
        ("jo@example.com", ""),
    ],
)
def test_a_failed_login_is_a_401_with_one_generic_message(
    api: Api, customer: dict[str, Any], email: str, password: str
) -> None:
    response = api.client.post(
        "/api/guest/client/login", json={"email": email, "password": password}
    )
    assert response.status_code == 401
    assert response.json() == {"result": None, "error": LOGIN_FAILED}
    assert "set-cookie" not in response.headers


def test_a_suspended_client_cannot_log_in_or_use_their_token(
    api: Api, customer: dict[str, Any]
) -> None:
    api.admin("client/update", id=customer["id"], status="suspended")
    error = api.error("guest/client/login", email=customer["email"], password="jo-pass-123")
    assert error["code"] == 206
    assert api.error("client/profile/get", auth=customer["auth"])["code"] == 206


def test_an_admin_login_does_not_work_on_the_client_login(api: Api) -> None:
    error = api.error("guest/client/login", email="root@example.com", password="admin-pass-1")
    assert error == LOGIN_FAILED


def test_the_client_reads_their_own_profile_with_basic_auth(
    api: Api, customer: dict[str, Any]
) -> None:
    profile = api.ok("client/profile/get", auth=customer["auth"])
    assert profile["id"] == customer["id"]
    assert profile["email"] == customer["email"]
    assert profile["first_name"] == "Jo"


def test_client_endpoints_refuse_anonymous_callers_admins_and_wrong_tokens(
    api: Api, customer: dict[str, Any]
) -> None:
    anonymous = api.client.post("/api/client/profile/get")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, 202)
    as_admin = api.error("client/profile/get", auth=("admin", api.admin_token))
    assert as_admin == {"message": "Client is not logged in", "code": 202}
    assert api.error("client/profile/get", auth=("client", "not-a-token"))["code"] == 201


def test_api_key_reset_returns_a_new_token_and_the_old_one_stops_working(
    api: Api, customer: dict[str, Any]
) -> None:
    new_token = api.ok("client/profile/api_key_reset", auth=customer["auth"])
    assert isinstance(new_token, str) and len(new_token) >= 32
    assert new_token != customer["token"]
    response = api.client.post("/api/client/profile/get", auth=customer["auth"])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 201
    assert api.ok("client/profile/get", auth=("client", new_token))["id"] == customer["id"]
