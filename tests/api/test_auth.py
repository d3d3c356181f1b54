"""Who may call what: the role matrix over every endpoint, Basic tokens, sessions and CSRF."""

from __future__ import annotations

import base64
import re
from http.cookies import SimpleCookie
from typing import Any

import pytest
from starlette.testclient import TestClient

import keyvend.app  # noqa: F401  (registers every endpoint before ENDPOINTS is read)
from keyvend.api.registry import ENDPOINTS, Endpoint
from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients
from tests.conftest import Api, FakeClock

ADMIN_ENDPOINTS = [e for _, e in sorted(ENDPOINTS.items()) if e.role == "admin"]
CLIENT_ENDPOINTS = [e for _, e in sorted(ENDPOINTS.items()) if e.role == "client"]
GUEST_ENDPOINTS = [e for _, e in sorted(ENDPOINTS.items()) if e.role == "guest"]
AUTH_CODES = range(201, 207)
URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")
WRONG_TOKEN = "not-a-real-token-" + "z" * 30


def name(endpoint: Endpoint) -> str:
    return f"{endpoint.role}/{endpoint.module}/{endpoint.method}"


def post(api: Api, endpoint: Endpoint, auth: tuple[str, str] | None) -> tuple[int, Any]:
    """Call an endpoint with no parameters: authentication comes before validation."""
    status, body = api.call(name(endpoint), auth=auth)
    return int(status), body


def assert_refused(answer: tuple[int, Any], code: int | None = None) -> None:
    status, body = answer
    assert status == 401, body
    assert body["result"] is None
    assert body["error"]["code"] in AUTH_CODES
    if code is not None:
        assert body["error"]["code"] == code, body


def cookies_of(response: Any) -> dict[str, Any]:
    """The Set-Cookie headers of a response, parsed, by cookie name."""
    parsed: dict[str, Any] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        parsed.update({morsel.key: morsel for morsel in jar.values()})
        parsed[f"{next(iter(jar))}:raw"] = header
    return parsed


JO_PASSWORD = "jo-pass-123"  # the `customer` fixture's password


def login(client: TestClient, email: str = "jo@example.com", password: str = JO_PASSWORD) -> Any:
    return client.post("/api/guest/client/login", json={"email": email, "password": password})


# --- the role matrix ----------------------------------------------------------------------


def test_every_role_has_endpoints_to_check() -> None:
    assert len(ADMIN_ENDPOINTS) >= 20
    assert len(CLIENT_ENDPOINTS) >= 5
    assert len(GUEST_ENDPOINTS) >= 5


@pytest.mark.parametrize("endpoint", ADMIN_ENDPOINTS, ids=name)
def test_admin_endpoint_refuses_anyone_but_an_admin(
    api: Api, customer: dict[str, Any], endpoint: Endpoint
) -> None:
    assert_refused(post(api, endpoint, None), 203)
    assert_refused(post(api, endpoint, customer["auth"]))
    assert_refused(post(api, endpoint, ("admin", WRONG_TOKEN)), 201)
    assert_refused(post(api, endpoint, ("admin", customer["token"])), 201)


@pytest.mark.parametrize("endpoint", CLIENT_ENDPOINTS, ids=name)
def test_client_endpoint_refuses_anyone_but_a_client(
    api: Api, customer: dict[str, Any], endpoint: Endpoint
) -> None:
    assert_refused(post(api, endpoint, None), 202)
    assert_refused(post(api, endpoint, ("admin", api.admin_token)))
    assert_refused(post(api, endpoint, ("client", WRONG_TOKEN)), 201)
    assert_refused(post(api, endpoint, ("client", api.admin_token)), 201)


@pytest.mark.parametrize("endpoint", GUEST_ENDPOINTS, ids=name)
def test_guest_endpoint_answers_without_credentials(api: Api, endpoint: Endpoint) -> None:
    status, body = post(api, endpoint, None)
    assert status not in (401, 403, 404), body
    if body["error"] is not None:
        assert body["error"]["code"] not in (*AUTH_CODES, 403, 740), body


def test_guest_calls_return_results_without_credentials(
    api: Api, active_order: dict[str, Any], product_id: int
) -> None:
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True
    assert api.guest("product/get", id=product_id)["title"] == "Starter"
    assert api.guest("product/get_list")["total"] == 1


def test_admin_and_client_tokens_work_for_their_own_role(
    api: Api, customer: dict[str, Any]
) -> None:
    assert api.admin("profile/get")["email"] == "root@example.com"
    assert api.ok("client/profile/get", auth=customer["auth"])["email"] == "jo@example.com"


def test_refused_admin_call_changes_nothing(api: Api, customer: dict[str, Any]) -> None:
    assert_refused(api.call("admin/client/delete", auth=customer["auth"], id=customer["id"]))
    assert_refused(api.call("admin/client/delete", id=customer["id"]))
    assert api.admin("client/get", id=customer["id"])["email"] == "jo@example.com"


# --- HTTP Basic ---------------------------------------------------------------------------


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic",
        "Basic ",
        basic(b"client"),
        basic(b"client:"),
        basic(b"\xff\xfe:\xff"),
        basic(b"root:" + b"x" * 40),
        basic(b"client:" + b"x" * 300),
        "Bearer abcdef",
        "Digest username=client",
    ],
    ids=lambda header: header[:24],
)
def test_malformed_or_foreign_authorization_header_is_refused_with_401(
    api: Api, customer: dict[str, Any], header: str
) -> None:
    for path in ("/api/client/profile/get", "/api/admin/profile/get"):
        response = api.client.post(path, json={}, headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json() == {
            "result": None,
            "error": {"message": response.json()["error"]["message"], "code": 201},
        }


def test_client_token_stops_working_after_api_key_reset(api: Api, customer: dict[str, Any]) -> None:
    new_token = api.ok("client/profile/api_key_reset", auth=customer["auth"])
    assert new_token != customer["token"]
    assert_refused(api.call("client/profile/get", auth=customer["auth"]), 201)
    assert api.ok("client/profile/get", auth=("client", new_token))["id"] == customer["id"]


def test_suspended_client_is_refused_with_code_206(api: Api, customer: dict[str, Any]) -> None:
    api.admin("client/update", id=customer["id"], status="suspended")
    assert_refused(api.call("client/profile/get", auth=customer["auth"]), 206)
    error = api.error("guest/client/login", email=customer["email"], password="jo-pass-123")
    assert error["code"] == 206


# --- browser sessions ---------------------------------------------------------------------


def test_login_sets_an_httponly_lax_session_cookie_and_a_readable_url_safe_csrf_cookie(
    api: Api, customer: dict[str, Any]
) -> None:
    response = login(api.client)
    assert response.status_code == 200
    body = response.json()
    assert body["error"] is None
    assert body["result"]["email"] == "jo@example.com"
    cookies = cookies_of(response)
    session, csrf = cookies["keyvend_session"], cookies["keyvend_csrf"]
    assert session["httponly"] is True
    assert session["samesite"].lower() == "lax"
    assert session["path"] == "/"
    assert not csrf["httponly"]
    assert csrf["samesite"].lower() == "lax"
    assert URL_SAFE.fullmatch(csrf.value)
    assert '"' not in cookies["keyvend_csrf:raw"]
    assert csrf.value == body["result"]["csrf_token"]
    assert not session["secure"] and not csrf["secure"]  # plain-HTTP localhost still works
    assert session.value not in str(body)


def test_login_over_https_marks_the_cookies_secure(app: Any, api: Api, customer: Any) -> None:
    with TestClient(app, base_url="https://testserver") as https:
        cookies = cookies_of(login(https))
    assert cookies["keyvend_session"]["secure"] is True
    assert cookies["keyvend_csrf"]["secure"] is True


def test_wrong_password_sets_no_cookie_and_answers_401(api: Api, customer: Any) -> None:
    response = login(api.client, password="wrong-password")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 201
    assert response.headers.get_list("set-cookie") == []


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(api: Api, customer: Any) -> None:
    wrong_password = login(api.client, password="wrong-password")
    unknown_email = login(api.client, email="nobody@example.com")
    assert (unknown_email.status_code, unknown_email.json()) == (
        wrong_password.status_code,
        wrong_password.json(),
    )


@pytest.mark.parametrize("csrf_header", [None, "", "wrong-token", "A" * 43])
def test_session_call_without_the_matching_csrf_header_is_refused(
    api: Api, customer: Any, csrf_header: str | None
) -> None:
    login(api.client)
    headers = {} if csrf_header is None else {"X-CSRF-Token": csrf_header}
    response = api.client.post("/api/client/profile/get", json={}, headers=headers)
    assert response.status_code in (401, 403)
    body = response.json()
    assert body["result"] is None
    assert body["error"]["code"] in (*AUTH_CODES, 403)


def test_session_call_with_the_csrf_header_works(api: Api, customer: dict[str, Any]) -> None:
    csrf = login(api.client).json()["result"]["csrf_token"]
    response = api.client.post("/api/client/profile/get", json={}, headers={"X-CSRF-Token": csrf})
    assert response.json() == {"result": response.json()["result"], "error": None}
    assert response.json()["result"]["id"] == customer["id"]


def test_client_session_cannot_call_admin_endpoints(api: Api, customer: Any) -> None:
    csrf = login(api.client).json()["result"]["csrf_token"]
    response = api.client.post(
        "/api/admin/client/get_list", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 203


def test_admin_session_works_for_admin_endpoints_only(api: Api, customer: Any) -> None:
    response = api.client.post(
        "/api/guest/staff/login", json={"email": "root@example.com", "password": "admin-pass-1"}
    )
    csrf = response.json()["result"]["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    listed = api.client.post("/api/admin/client/get_list", json={}, headers=headers)
    assert listed.json()["result"]["total"] == 1
    mine = api.client.post("/api/client/profile/get", json={}, headers=headers)
    assert mine.status_code == 401
    assert mine.json()["error"]["code"] == 202


def test_logout_ends_the_session_and_clears_both_cookies(
    api: Api, customer: dict[str, Any]
) -> None:
    logged_in = login(api.client)
    token = cookies_of(logged_in)["keyvend_session"].value
    csrf = logged_in.json()["result"]["csrf_token"]
    response = api.client.post("/api/client/client/logout", json={}, headers={"X-CSRF-Token": csrf})
    assert response.json() == {"result": True, "error": None}
    cleared = cookies_of(response)
    assert {"keyvend_session", "keyvend_csrf"} <= set(cleared)
    assert all(cleared[n]["max-age"] == "0" for n in ("keyvend_session", "keyvend_csrf"))
    api.client.cookies.clear()
    replay = api.client.post(
        "/api/client/profile/get",
        json={},
        headers={"Cookie": f"keyvend_session={token}", "X-CSRF-Token": csrf},
    )
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == 205


def test_session_expires_after_its_lifetime(
    api: Api, customer: dict[str, Any], clock: FakeClock
) -> None:
    csrf = login(api.client).json()["result"]["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    clock.advance(hours=24 * 7 - 1)
    assert api.client.post("/api/client/profile/get", json={}, headers=headers).status_code == 200
    clock.advance(hours=1)
    expired = api.client.post("/api/client/profile/get", json={}, headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == 205


def test_session_cookie_on_a_guest_call_without_csrf_is_just_a_guest(
    api: Api, active_order: dict[str, Any]
) -> None:
    login(api.client)
    response = api.client.post("/api/guest/serviceapikey/check", json={"key": active_order["key"]})
    assert response.json() == {"result": True, "error": None}


def test_suspending_a_client_ends_the_power_of_their_browser_session(
    api: Api, customer: dict[str, Any]
) -> None:
    headers = {"X-CSRF-Token": login(api.client).json()["result"]["csrf_token"]}
    api.admin("client/update", id=customer["id"], status="suspended")
    refused = api.client.post("/api/client/profile/get", json={}, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == 206
    api.admin("client/update", id=customer["id"], status="active")
    assert api.client.post("/api/client/profile/get", json={}, headers=headers).status_code == 200


def test_session_of_a_deleted_client_never_passes_to_a_client_created_later(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    headers = {"X-CSRF-Token": login(api.client).json()["result"]["csrf_token"]}
    api.admin("client/delete", id=customer["id"])
    clients.create(
        db, ClientCreate(email="eve@example.com", first_name="Eve", password="eve-pass-123")
    )
    refused = api.client.post("/api/client/profile/get", json={}, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == 205
