"""Password-reset calls spend their own per-IP budget (KEYVEND_RATE_LIMIT_PASSWORD_RESET), so
nobody floods inboxes with links or tries tokens without end; other IPs are not affected."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database

Caller = Callable[[str], TestClient]
RESET_CALLS = [
    ("guest/client/reset_password", {"email": "jo@example.com"}),
    ("guest/staff/reset_password", {"email": "jo@example.com"}),
    ("guest/client/confirm_reset", {"token": "not-a-token", "password": "long-enough-pw"}),
    ("guest/staff/confirm_reset", {"token": "not-a-token", "password": "long-enough-pw"}),
]


@pytest.fixture
def caller(settings: Settings, db: Database) -> Iterator[Caller]:
    values = {"rate_limit_enabled": True, "rate_limit_password_reset": "3/hour"}
    app = create_app(settings.model_copy(update=values), database=db)
    opened: dict[str, TestClient] = {}

    def from_ip(ip: str) -> TestClient:
        if ip not in opened:
            opened[ip] = TestClient(app, client=(ip, 40000))
        return opened[ip]

    yield from_ip
    for test_client in opened.values():
        test_client.close()


@pytest.mark.parametrize(("path", "body"), RESET_CALLS)
def test_reset_calls_are_limited_per_ip(caller: Caller, path: str, body: dict[str, str]) -> None:
    flooder = caller("203.0.113.7")
    statuses = [flooder.post(f"/api/{path}", json=body).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = flooder.post(f"/api/{path}", json=body)
    assert refused.json()["error"]["code"] == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert caller("198.51.100.2").post(f"/api/{path}", json=body).status_code == 200


def test_the_reset_budget_is_shared_by_every_reset_call(caller: Caller) -> None:
    flooder = caller("203.0.113.8")
    statuses = [flooder.post(f"/api/{path}", json=body).status_code for path, body in RESET_CALLS]
    assert statuses == [200, 200, 200, 429]


def test_a_client_locked_out_by_failed_logins_can_still_ask_for_a_reset(
    settings: Settings, db: Database
) -> None:
    values = {"rate_limit_enabled": True, "rate_limit_login": "2/hour"}
    app = create_app(settings.model_copy(update=values), database=db)
    with TestClient(app, client=("203.0.113.9", 40000)) as user:
        wrong = {"email": "jo@example.com", "password": "not-the-password"}
        codes = [user.post("/api/guest/client/login", json=wrong).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        path, body = RESET_CALLS[0]
        assert user.post(f"/api/{path}", json=body).status_code == 200
