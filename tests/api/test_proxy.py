"""Behind a reverse proxy (DESIGN.md section 13): whose X-Forwarded-* headers are believed.

The app wraps itself in uvicorn's ProxyHeadersMiddleware for KEYVEND_TRUSTED_PROXIES, so the
fast lane, the dispatcher, the rate limiter and every cookie see the real client and scheme.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.testclient import TestClient

import keyvend.app
from keyvend.api.dispatch import api_call
from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from tests.web.conftest import ADMIN, CLIENT_PASSWORD, Browsing

PROXY = "10.0.0.2"
STRANGER = "203.0.113.9"
TRUSTED = ["10.0.0.0/8"]
CHECK = "/api/guest/serviceapikey/check"
HTTPS = {"X-Forwarded-Proto": "https"}

MakeClient = Callable[..., TestClient]


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The key checks the general dispatcher answered, in apps built after this fixture."""
    seen: list[str] = []

    async def counting(request: Request) -> JSONResponse:
        if request.url.path.startswith("/api/guest/serviceapikey/"):
            seen.append(request.url.path)
        return await api_call(request)

    monkeypatch.setattr(keyvend.app, "api_call", counting)
    return seen


@pytest.fixture
def make(settings: Settings, db: Database, dispatched: list[str]) -> Iterator[MakeClient]:
    """Clients of an app trusting TRUSTED, seen from `peer`; keyword args override settings."""
    opened: list[TestClient] = []

    def build(peer: str, **overrides: Any) -> TestClient:
        values = {
            "trusted_proxies": TRUSTED,
            "rate_limit_enabled": True,
            "rate_limit_guest": "1000/minute",
            "rate_limit_guest_miss": "3/minute",
            "rate_limit_login": "1000/hour",
            **overrides,
        }
        app = create_app(settings.model_copy(update=values), database=db)
        opened.append(TestClient(app, client=(peer, 40000)))
        return opened[-1]

    yield build
    for client in opened:
        client.close()


def check(client: TestClient, key: str, headers: Any = None) -> Any:
    return client.post(CHECK, json={"key": key}, headers=headers)


def forwarded(chain: str) -> dict[str, str]:
    return {"X-Forwarded-For": chain}


# --- the fast lane behind a proxy -----------------------------------------------------------


@pytest.mark.parametrize("method", ["check", "get_info"])
def test_a_check_forwarded_by_a_trusted_proxy_stays_on_the_fast_lane_and_answers_alike(
    make: MakeClient, dispatched: list[str], active_order: dict[str, Any], method: str
) -> None:
    proxy = make(PROXY, rate_limit_guest_miss="100/minute")
    path = f"/api/guest/serviceapikey/{method}"
    for key in (active_order["key"], "NOT-A-KEY", ""):
        fast = proxy.post(path, json={"key": key}, headers=forwarded("192.0.2.10"))
        assert dispatched == [], key
        general = proxy.post(path, data={"key": key}, headers=forwarded("192.0.2.10"))
        assert dispatched == [path]  # a form body goes to the dispatcher, as it should
        dispatched.clear()
        assert (fast.status_code, fast.json()) == (general.status_code, general.json()), key
        assert fast.headers["RateLimit-Limit"] == general.headers["RateLimit-Limit"]


@pytest.mark.parametrize("trusted", [["10.0.0.0/8"], ["10.0.0.2"], ["10.0.0.7/8"]])
def test_the_fast_lane_counts_misses_against_the_forwarded_client_not_the_proxy(
    make: MakeClient, dispatched: list[str], active_order: dict[str, Any], trusted: list[str]
) -> None:
    proxy = make(PROXY, trusted_proxies=trusted)
    misses = [check(proxy, "NOPE-NOPE", forwarded("192.0.2.1")) for _ in range(3)]
    assert [m.json()["error"]["code"] for m in misses] == [9999, 9999, 9999]
    refused = check(proxy, active_order["key"], forwarded("192.0.2.1"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, 429)
    other = check(proxy, active_order["key"], forwarded("192.0.2.2"))
    assert other.json() == {"result": True, "error": None}
    assert dispatched == []


@pytest.mark.parametrize("trusted", [[], TRUSTED])
def test_forwarded_for_from_an_untrusted_peer_is_ignored_and_the_peer_is_counted(
    make: MakeClient, dispatched: list[str], active_order: dict[str, Any], trusted: list[str]
) -> None:
    stranger = make(STRANGER, trusted_proxies=trusted)
    for n in range(3):
        check(stranger, "NOPE-NOPE", forwarded(f"192.0.2.{n}"))
    refused = check(stranger, active_order["key"], forwarded("192.0.2.200"))
    assert refused.status_code == 429
    assert dispatched == []  # the forwarding header alone never leaves the fast lane


@pytest.mark.parametrize(
    "chain",
    [
        [("X-Forwarded-For", "198.51.100.1, 192.0.2.7, 10.0.0.9")],
        [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "192.0.2.7, 10.0.0.9")],
    ],
    ids=["one-header", "two-headers"],
)
def test_the_right_most_address_that_is_not_a_trusted_proxy_is_the_client(
    make: MakeClient, active_order: dict[str, Any], chain: list[tuple[str, str]]
) -> None:
    # 198.51.100.1 is whatever the caller claimed; 192.0.2.7 is what our outer proxy saw;
    # 10.0.0.9 is an inner proxy of ours.
    proxy = make(PROXY)
    for _ in range(3):
        check(proxy, "NOPE-NOPE", chain)
    assert check(proxy, active_order["key"], forwarded("192.0.2.7")).status_code == 429
    claimed = check(proxy, active_order["key"], forwarded("198.51.100.1"))
    assert claimed.json() == {"result": True, "error": None}


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Basic Y2xpZW50Om5vcGU="}, {"X-CSRF-Token": "anything"}],
    ids=["authorization", "csrf"],
)
def test_credentials_and_csrf_headers_still_go_to_the_dispatcher(
    make: MakeClient, dispatched: list[str], headers: dict[str, str]
) -> None:
    proxy = make(PROXY)
    proxy.post(CHECK, json={"key": "NOPE-NOPE"}, headers={**headers, **forwarded("192.0.2.1")})
    assert dispatched == [CHECK]


# --- cookies over https behind a proxy -------------------------------------------------------


def set_cookies(response: Any) -> dict[str, bool]:
    """Whether each cookie the response sets is marked Secure, by name."""
    secure: dict[str, bool] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        secure.update({m.key: bool(m["secure"]) for m in jar.values()})
    return secure


CREDENTIALS = {"admin": ADMIN, "client": ("jo@example.com", CLIENT_PASSWORD)}


def api_login(client: TestClient, who: str, headers: dict[str, str]) -> Any:
    email, password = CREDENTIALS[who]
    module = "staff" if who == "admin" else "client"
    body = {"email": email, "password": password}
    response = client.post(f"/api/guest/{module}/login", json=body, headers=headers)
    assert response.json()["error"] is None, response.json()
    return response


def page_login(client: TestClient, who: str, headers: dict[str, str]) -> Any:
    email, password = CREDENTIALS[who]
    area = "/admin" if who == "admin" else ""
    browsing = Browsing(client)
    browsing.get(area or "/")  # over plain http, so that the form cookie is sent back
    response = browsing.post(
        f"{area}/login",
        {"email": email, "password": password},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response


@pytest.mark.parametrize(
    ("login", "who"),
    [(api_login, "client"), (api_login, "admin"), (page_login, "client"), (page_login, "admin")],
    ids=["api-client", "api-staff", "page-client", "page-admin"],
)
@pytest.mark.parametrize(
    ("peer", "headers", "secure"),
    [(PROXY, HTTPS, True), (PROXY, {}, False), (STRANGER, HTTPS, False)],
    ids=["https-via-trusted-proxy", "http-via-trusted-proxy", "untrusted-peer-claims-https"],
)
def test_login_cookies_are_secure_exactly_when_a_trusted_proxy_says_https(
    make: MakeClient,
    customer: dict[str, Any],
    login: Callable[[TestClient, str, dict[str, str]], Any],
    who: str,
    peer: str,
    headers: dict[str, str],
    secure: bool,
) -> None:
    response = login(make(peer), who, headers)
    cookies = set_cookies(response)
    assert {"keyvend_session", "keyvend_csrf"} <= set(cookies)
    assert cookies == dict.fromkeys(cookies, secure)
