"""Rate limiting (DESIGN.md section 6): policies, headers, whitelist, proxies, driven clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from keyvend.api.registry import ENDPOINTS, ROLE_LIMITS
from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.edge.ratelimit import POLICIES
from keyvend.schemas.account import StaffCreate
from keyvend.services import staff
from tests.conftest import FakeClock
from tests.web.conftest import Browsing

MakeClient = Callable[..., TestClient]


@pytest.fixture
def limited(settings: Settings, db: Database) -> Iterator[MakeClient]:
    """Build clients of an app with small limits; keyword args override settings."""
    opened: list[TestClient] = []

    def make(ip: str = "203.0.113.7", **overrides: Any) -> TestClient:
        values = {
            "rate_limit_enabled": True,
            "rate_limit_guest": "5/minute",
            "rate_limit_guest_miss": "3/minute",
            "rate_limit_login": "2/hour",
            "rate_limit_authenticated": "4/hour",
            **overrides,
        }
        app = create_app(settings.model_copy(update=values), database=db)
        test_client = TestClient(app, client=(ip, 40000))
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.close()


def check(client: TestClient, key: str = "NOPE-NOPE", **headers: str) -> Any:
    return client.post("/api/guest/serviceapikey/check", json={"key": key}, headers=headers)


def test_guest_calls_over_the_limit_get_429_with_retry_after(limited: MakeClient) -> None:
    client = limited(rate_limit_guest_miss="100/minute")
    statuses = [client.post("/api/guest/product/get_list").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = client.post("/api/guest/product/get_list")
    assert response.json() == {
        "result": None,
        "error": {"message": response.json()["error"]["message"], "code": 429},
    }
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_every_limited_response_carries_ratelimit_headers(limited: MakeClient) -> None:
    client = limited(rate_limit_guest_miss="100/minute")
    first = client.post("/api/guest/product/get_list")
    second = client.post("/api/guest/product/get_list")
    assert first.headers["RateLimit-Limit"] == "5"
    assert first.headers["RateLimit-Remaining"] == "4"
    assert second.headers["RateLimit-Remaining"] == "3"
    assert 1 <= int(first.headers["RateLimit-Reset"]) <= 60


def test_the_budget_comes_back_when_the_clock_reaches_the_next_window(
    limited: MakeClient, clock: FakeClock
) -> None:
    client = limited(rate_limit_guest_miss="100/minute")
    for _ in range(5):
        client.post("/api/guest/product/get_list")
    assert client.post("/api/guest/product/get_list").status_code == 429
    clock.advance(seconds=60)
    assert client.post("/api/guest/product/get_list").status_code == 200


def test_missing_keys_are_throttled_long_before_the_guest_budget(
    limited: MakeClient, active_order: dict[str, Any]
) -> None:
    client = limited(rate_limit_guest="100/minute")
    misses = [check(client).json()["error"]["code"] for _ in range(3)]
    assert misses == [9999, 9999, 9999]
    # The miss budget is spent: now even an existing key is refused, so a guesser
    # cannot tell hits from misses by the 429.
    refused = check(client, active_order["key"])
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == 429


def test_checks_of_existing_keys_do_not_spend_the_miss_budget(
    limited: MakeClient, active_order: dict[str, Any]
) -> None:
    client = limited(rate_limit_guest="100/minute")
    for _ in range(10):
        assert check(client, active_order["key"]).json() == {"result": True, "error": None}


def test_login_attempts_are_limited_per_ip(limited: MakeClient) -> None:
    client = limited()
    body = {"email": "nobody@example.com", "password": "wrong-password"}
    codes = [client.post("/api/guest/client/login", json=body).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_the_api_logins_and_the_login_pages_spend_one_login_budget(
    limited: MakeClient, api: Any
) -> None:
    client = limited(rate_limit_login="3/hour")
    wrong = {"email": "nobody@example.com", "password": "wrong-password"}
    assert client.post("/api/guest/client/login", json=wrong).status_code == 401
    assert client.post("/api/guest/staff/login", json=wrong).status_code == 401
    pages = Browsing(client)
    pages.get("/")
    assert pages.post("/admin/login", wrong).status_code == 401
    assert pages.post("/login", wrong).status_code == 429
    assert client.post("/api/guest/client/login", json=wrong).status_code == 429


def test_every_endpoint_is_limited_by_its_roles_policy_and_the_ones_it_declares() -> None:
    for found in ENDPOINTS.values():
        assert found.policies == (ROLE_LIMITS[found.role], *found.limits), found.path
        assert set(found.policies) <= POLICIES.keys(), found.path
    by_policy = {
        name: {e.path for e in ENDPOINTS.values() if name in e.limits} for name in POLICIES
    }
    assert by_policy["login"] == {"/api/guest/client/login", "/api/guest/staff/login"}
    # A client locked out by failed logins can still ask for a reset link.
    assert by_policy["password_reset"] == {
        f"/api/guest/{role}/{method}"
        for role in ("client", "staff")
        for method in ("reset_password", "confirm_reset")
    }
    assert by_policy["guest_miss"] == {
        "/api/guest/serviceapikey/check",
        "/api/guest/serviceapikey/get_info",
        "/api/guest/serviceapikey/verify",
    }


def test_authenticated_calls_are_limited_per_account_across_ips(
    limited: MakeClient, api: Any
) -> None:
    auth = ("admin", api.admin_token)
    first = limited(ip="198.51.100.1")
    second = TestClient(first.app, client=("198.51.100.2", 40000))
    codes = [first.post("/api/admin/profile/get", auth=auth).status_code for _ in range(4)]
    assert codes == [200] * 4
    refused = second.post("/api/admin/profile/get", auth=auth)
    assert refused.status_code == 429


def test_authenticated_calls_are_limited_per_ip_across_accounts(
    limited: MakeClient, api: Any, db: Database
) -> None:
    client = limited(ip="198.51.100.9")
    tokens = [
        staff.create_admin(db, StaffCreate(email=f"a{i}@example.com")).api_token for i in range(5)
    ]
    codes = [client.post("/api/admin/profile/get", auth=("admin", t)).status_code for t in tokens]
    assert codes == [200] * 4 + [429]


def test_whitelisted_networks_are_never_limited(limited: MakeClient) -> None:
    client = limited(ip="10.1.2.3", rate_limit_whitelist=["10.0.0.0/8"])
    statuses = {client.post("/api/guest/product/get_list").status_code for _ in range(12)}
    assert statuses == {200}
    assert "RateLimit-Limit" not in client.post("/api/guest/product/get_list").headers


def test_whitelisted_callers_are_still_authenticated(limited: MakeClient, api: Any) -> None:
    client = limited(ip="10.1.2.3", rate_limit_whitelist=["10.0.0.0/8"])
    assert client.post("/api/admin/profile/get", auth=("admin", "wrong")).status_code == 401
    assert client.post("/api/admin/profile/get", auth=("admin", api.admin_token)).status_code == 200


def test_forwarded_for_is_ignored_from_untrusted_peers(limited: MakeClient) -> None:
    client = limited(ip="203.0.113.50", rate_limit_guest_miss="100/minute")
    for n in range(5):
        client.post("/api/guest/product/get_list", headers={"X-Forwarded-For": f"192.0.2.{n}"})
    blocked = client.post("/api/guest/product/get_list", headers={"X-Forwarded-For": "192.0.2.99"})
    assert blocked.status_code == 429


def test_forwarded_for_from_a_trusted_proxy_limits_the_real_client(limited: MakeClient) -> None:
    client = limited(
        ip="127.0.0.1", trusted_proxies=["127.0.0.1"], rate_limit_guest_miss="100/minute"
    )
    for _ in range(5):
        client.post("/api/guest/product/get_list", headers={"X-Forwarded-For": "192.0.2.1"})
    blocked = client.post("/api/guest/product/get_list", headers={"X-Forwarded-For": "192.0.2.1"})
    other = client.post("/api/guest/product/get_list", headers={"X-Forwarded-For": "192.0.2.2"})
    assert (blocked.status_code, other.status_code) == (429, 200)


def test_disabled_rate_limiting_lets_everything_through(limited: MakeClient) -> None:
    client = limited(rate_limit_enabled=False)
    statuses = {client.post("/api/guest/product/get_list").status_code for _ in range(12)}
    assert statuses == {200}


def test_unreachable_redis_falls_back_to_memory_and_keeps_answering(
    limited: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = limited(redis_url="redis://127.0.0.1:1/0", rate_limit_guest_miss="100/minute")
    statuses = [client.post("/api/guest/product/get_list").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert "Redis rate-limit storage unreachable" in caplog.text
