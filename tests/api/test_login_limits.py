"""The login budget counts failed logins only, per IP and per account; a success clears the
account's failures; waits are worded in minutes (DESIGN.md section 13)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import wait_in_words
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients

Caller = Callable[[str], TestClient]
RIGHT = {"email": "jo@example.com", "password": "jo-pass-123"}
WRONG = {"email": "jo@example.com", "password": "not-the-password"}


@pytest.fixture
def caller(settings: Settings, db: Database) -> Iterator[Caller]:
    """Clients from any IP, all talking to one app (one limiter) with a login budget of 3."""
    clients.create(db, ClientCreate(first_name="Jo", **RIGHT))
    values = {"rate_limit_enabled": True, "rate_limit_login": "3/hour"}
    app = create_app(settings.model_copy(update=values), database=db)
    opened: dict[str, TestClient] = {}

    def from_ip(ip: str) -> TestClient:
        if ip not in opened:
            opened[ip] = TestClient(app, client=(ip, 40000))
        return opened[ip]

    yield from_ip
    for test_client in opened.values():
        test_client.close()


def login(client: TestClient, body: dict[str, str]) -> int:
    return client.post("/api/guest/client/login", json=body).status_code


def test_successful_logins_never_spend_the_login_budget(caller: Caller) -> None:
    assert [login(caller("203.0.113.1"), RIGHT) for _ in range(10)] == [200] * 10


def test_failed_logins_are_limited_per_ip(caller: Caller) -> None:
    guesser = caller("203.0.113.1")
    others = {"email": "nobody@example.com", "password": "whatever-1"}
    assert [login(guesser, others) for _ in range(4)] == [401, 401, 401, 429]
    assert login(caller("203.0.113.2"), RIGHT) == 200  # another IP is not affected


def test_failed_logins_are_limited_per_account_from_any_ip(caller: Caller) -> None:
    statuses = [login(caller(f"203.0.113.{n}"), WRONG) for n in range(1, 5)]
    assert statuses == [401, 401, 401, 429]
    response = caller("198.51.100.9").post("/api/guest/client/login", json=RIGHT)
    assert response.status_code == 429  # the account is protected, even from a fresh IP
    assert response.json()["error"]["message"].endswith("minutes.")
    assert int(response.headers["retry-after"]) > 120


def test_a_success_clears_the_accounts_failures(caller: Caller) -> None:
    for guesser in ("203.0.113.1", "203.0.113.4"):
        assert [login(caller(guesser), WRONG) for _ in range(2)] == [401, 401]
        assert login(caller("203.0.113.2"), RIGHT) == 200
    # Four failures in all, yet never three in a row: the account was never locked.
    assert login(caller("203.0.113.3"), WRONG) == 401


def test_the_login_pages_count_failures_only_too(caller: Caller) -> None:
    browser = caller("203.0.113.1")
    page = browser.get("/")
    assert page.status_code == 200
    csrf = browser.cookies.get("keyvend_form")
    form = {"csrf": csrf or "", **RIGHT}
    assert [
        browser.post("/login", data=form, follow_redirects=False).status_code for _ in range(5)
    ] == [303] * 5


def test_failed_page_logins_count_against_the_same_budget(caller: Caller) -> None:
    browser = caller("203.0.113.1")
    browser.get("/")
    form = {"csrf": browser.cookies.get("keyvend_form") or "", **WRONG}
    statuses = [browser.post("/login", data=form).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert login(caller("203.0.113.2"), RIGHT) == 429  # the account is locked for the API too


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (42, "42 seconds"),
        (119, "119 seconds"),
        (120, "2 minutes"),
        (2831, "48 minutes"),
    ],
)
def test_waits_are_worded_for_people(seconds: int, words: str) -> None:
    assert wait_in_words(seconds) == words
