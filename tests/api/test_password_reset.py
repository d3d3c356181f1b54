"""Password reset by mailed link, for clients and staff (DESIGN.md section 10)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from starlette.testclient import TestClient

from keyvend.api.registry import ENDPOINTS
from keyvend.db import unit_of_work
from keyvend.db.models import Event, PasswordReset
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.services import password_reset
from tests.conftest import Api, FakeClock
from tests.support.api import admin_error

INVALID = {"message": "This reset link is invalid or has expired", "code": 9999}
JO_PASSWORD = "jo-pass-123"  # the `customer` fixture's
ROOT = {"email": "root@example.com", "password": "admin-pass-1"}  # the `api` fixture's admin
# Each role's reset calls, its login, the page its link points to and the event it records.
ROLES = {
    "client": ("guest/client", "/password-reset", "client.password_reset_requested"),
    "admin": ("guest/staff", "/admin/password-reset", "staff.password_reset_requested"),
}


class Mailbox:
    """What the outbox reader would get: each reset event's private link and address."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

    def __call__(self, uow: UnitOfWork, event: Event, private: dict[str, Any]) -> None:
        if event.type.endswith("password_reset_requested"):
            self.sent.append((event.type, dict(event.data), dict(private)))

    def token(self) -> str:
        """The token of the last link sent."""
        return parse_qs(urlsplit(self.sent[-1][2]["reset_url"]).query)["token"][0]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    unit_of_work.EVENT_READERS.append(box)
    yield box
    unit_of_work.EVENT_READERS.remove(box)


def events(db: Database, kind: str) -> list[Event]:
    with db.unit_of_work(read_only=True) as uow:
        return list(uow.session.scalars(select(Event).where(Event.type == kind)))


def reset_rows(db: Database) -> int:
    with db.unit_of_work(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count(PasswordReset.id))) or 0)


def logs_in(api: Api, role: str, email: str, password: str) -> bool:
    path = "guest/client/login" if role == "client" else "guest/staff/login"
    _, body = api.call(path, email=email, password=password)
    return body["error"] is None


def account(role: str, customer: dict[str, Any]) -> tuple[str, str]:
    """The email and password of the role's account."""
    if role == "client":
        return customer["email"], JO_PASSWORD
    return ROOT["email"], ROOT["password"]


@pytest.mark.parametrize("role", ROLES)
def test_a_reset_link_sets_a_new_password_and_the_old_one_stops_working(
    api: Api, db: Database, mailbox: Mailbox, customer: dict[str, Any], role: str
) -> None:
    prefix, page, kind = ROLES[role]
    email, old = account(role, customer)
    assert api.ok(f"{prefix}/reset_password", email=email.upper()) is True
    [(sent_kind, data, private)] = mailbox.sent
    assert sent_kind == kind and private["email"] == email
    assert private["reset_url"].startswith(f"http://127.0.0.1:8080{page}?token=")
    assert data == ({} if role == "client" else {"admin_id": api.admin("profile/get")["id"]})
    [recorded] = events(db, kind)
    assert recorded.client_id == (customer["id"] if role == "client" else None)
    token = mailbox.token()
    assert api.ok(f"{prefix}/confirm_reset", token=token, password="brand-new-pass") is True
    assert logs_in(api, role, email, "brand-new-pass")
    assert not logs_in(api, role, email, old)


@pytest.mark.parametrize("role", ROLES)
def test_an_unknown_email_answers_the_same_and_writes_nothing(
    api: Api, db: Database, mailbox: Mailbox, customer: dict[str, Any], role: str
) -> None:
    prefix = ROLES[role][0]
    email, _ = account(role, customer)
    other = "root@example.com" if role == "client" else customer["email"]  # the other role's
    for unknown in ("nobody@example.com", other):
        status, body = api.call(f"{prefix}/reset_password", email=unknown)
        assert (status, body) == (200, {"result": True, "error": None})
    assert mailbox.sent == [] and reset_rows(db) == 0
    assert api.call(f"{prefix}/reset_password", email=email) == (
        200,
        {"result": True, "error": None},
    )
    assert len(mailbox.sent) == 1 and reset_rows(db) == 1


@pytest.mark.parametrize("role", ROLES)
def test_known_and_unknown_emails_run_the_same_queries(
    api: Api, db: Database, customer: dict[str, Any], role: str
) -> None:
    """The same reads either way; a real link then adds its writes (and the mail's)."""
    email, _ = account(role, customer)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()[:4]).upper())

    sa_event.listen(db.engine, "before_cursor_execute", seen)
    try:
        password_reset.request(db, role, "nobody@example.com")  # type: ignore[arg-type]
        unknown = list(statements)
        statements.clear()
        password_reset.request(db, role, email)  # type: ignore[arg-type]
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", seen)
    assert not any(s.startswith("INSERT") for s in unknown)
    assert statements[: len(unknown)] == unknown
    writes = statements[len(unknown) :]
    assert "INSERT INTO PASSWORD_RESETS (ROLE," in writes and "INSERT INTO EVENTS (AT," in writes


@pytest.mark.parametrize("role", ROLES)
def test_a_link_works_once(api: Api, mailbox: Mailbox, customer: dict[str, Any], role: str) -> None:
    prefix = ROLES[role][0]
    api.ok(f"{prefix}/reset_password", email=account(role, customer)[0])
    token = mailbox.token()
    assert api.ok(f"{prefix}/confirm_reset", token=token, password="first-new-pass") is True
    assert api.error(f"{prefix}/confirm_reset", token=token, password="second-new-pass") == INVALID
    assert logs_in(api, role, account(role, customer)[0], "first-new-pass")


@pytest.mark.parametrize("role", ROLES)
def test_a_link_expires_after_one_hour(
    api: Api, clock: FakeClock, mailbox: Mailbox, customer: dict[str, Any], role: str
) -> None:
    prefix = ROLES[role][0]
    email = account(role, customer)[0]
    api.ok(f"{prefix}/reset_password", email=email)
    early = mailbox.token()
    api.ok(f"{prefix}/reset_password", email=email)
    late = mailbox.token()
    clock.advance(minutes=59)
    assert api.ok(f"{prefix}/confirm_reset", token=early, password="in-time-pass") is True
    clock.advance(minutes=1)
    assert api.error(f"{prefix}/confirm_reset", token=late, password="too-late-pass") == INVALID
    assert logs_in(api, role, email, "in-time-pass")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 255])
def test_a_wrong_token_fails_with_the_same_message(
    api: Api, mailbox: Mailbox, customer: dict[str, Any], role: str, token: str
) -> None:
    prefix = ROLES[role][0]
    api.ok(f"{prefix}/reset_password", email=account(role, customer)[0])
    assert api.error(f"{prefix}/confirm_reset", token=token, password="new-pass-123") == INVALID


def test_a_client_link_does_not_reset_an_admin_and_the_reverse(
    api: Api, mailbox: Mailbox, customer: dict[str, Any]
) -> None:
    api.ok("guest/client/reset_password", email=customer["email"])
    client_token = mailbox.token()
    api.ok("guest/staff/reset_password", email="root@example.com")
    admin_token = mailbox.token()
    assert api.error("guest/staff/confirm_reset", token=client_token, password="x" * 9) == INVALID
    assert api.error("guest/client/confirm_reset", token=admin_token, password="x" * 9) == INVALID


def test_a_short_password_is_refused_and_the_link_still_works(
    api: Api, mailbox: Mailbox, customer: dict[str, Any]
) -> None:
    api.ok("guest/client/reset_password", email=customer["email"])
    error = api.error("guest/client/confirm_reset", token=mailbox.token(), password="short")
    assert "password must be 8 to 256 characters long" in error["message"]
    assert api.ok("guest/client/confirm_reset", token=mailbox.token(), password="long-enough")


@pytest.mark.parametrize("role", ROLES)
def test_confirming_ends_every_session_of_the_account(
    app: Any, api: Api, mailbox: Mailbox, customer: dict[str, Any], role: str
) -> None:
    prefix = ROLES[role][0]
    email, password = account(role, customer)
    path = "/api/client/profile/get" if role == "client" else "/api/admin/profile/get"
    with TestClient(app) as browser:
        login = browser.post(f"/api/{prefix}/login", json={"email": email, "password": password})
        csrf = {"X-CSRF-Token": login.json()["result"]["csrf_token"]}
        assert browser.post(path, headers=csrf).json()["error"] is None
        api.ok(f"{prefix}/reset_password", email=email)
        api.ok(f"{prefix}/confirm_reset", token=mailbox.token(), password="brand-new-pass")
        ended = browser.post(path, headers=csrf)
    assert (ended.status_code, ended.json()["error"]["code"]) == (401, 205)


def test_an_email_is_checked_for_shape_but_not_for_an_account(api: Api, mailbox: Mailbox) -> None:
    error = api.error("guest/client/reset_password", email="not an email")
    assert error == {"message": "email must be a valid email address", "code": 9999}


def test_one_inbox_gets_at_most_three_links_an_hour(
    api: Api, clock: FakeClock, mailbox: Mailbox, customer: dict[str, Any]
) -> None:
    for _ in range(5):
        assert api.guest("client/reset_password", email=customer["email"]) is True
    assert len(mailbox.sent) == password_reset.LINKS_PER_HOUR
    clock.advance(hours=1)
    api.guest("client/reset_password", email=customer["email"])
    assert len(mailbox.sent) == password_reset.LINKS_PER_HOUR + 1


def test_reset_calls_spend_the_password_reset_budget_not_the_login_one() -> None:
    # (tests/api/test_reset_limits.py counts them for real)
    for module in ("client", "staff"):
        for method in ("reset_password", "confirm_reset"):
            policies = ENDPOINTS[("guest", module, method)].policies
            assert "password_reset" in policies and "login" not in policies


def test_an_admin_sends_a_client_a_reset_link(
    api: Api, db: Database, mailbox: Mailbox, customer: dict[str, Any]
) -> None:
    assert api.admin("client/send_reset", id=customer["id"]) is True
    [(kind, _, private)] = mailbox.sent
    assert kind == "client.password_reset_requested"
    assert private["email"] == customer["email"]
    assert [e.client_id for e in events(db, kind)] == [customer["id"]]
    api.guest("client/confirm_reset", token=mailbox.token(), password="from-the-admin")
    assert logs_in(api, "client", customer["email"], "from-the-admin")
    error = admin_error(api, "client/send_reset", id=99999)
    assert error == {"message": "Client not found", "code": 9999}


def test_a_link_dies_with_its_account_and_with_an_email_change(
    api: Api, mailbox: Mailbox, customer: dict[str, Any]
) -> None:
    api.ok("guest/client/reset_password", email=customer["email"])
    token = mailbox.token()
    api.ok(
        "client/profile/change_email",
        auth=customer["auth"],
        email="jo.new@example.com",
        password=JO_PASSWORD,
    )
    assert api.error("guest/client/confirm_reset", token=token, password="new-pass-123") == INVALID
    api.ok("guest/client/reset_password", email="jo.new@example.com")
    token = mailbox.token()
    api.admin("client/delete", id=customer["id"])
    assert api.error("guest/client/confirm_reset", token=token, password="new-pass-123") == INVALID


def test_no_event_row_holds_the_token_or_the_password(
    api: Api, db: Database, mailbox: Mailbox, customer: dict[str, Any]
) -> None:
    api.ok("guest/client/reset_password", email=customer["email"])
    api.ok("guest/staff/reset_password", email="root@example.com")
    tokens = [parse_qs(urlsplit(p["reset_url"]).query)["token"][0] for _, _, p in mailbox.sent]
    api.ok("guest/client/confirm_reset", token=tokens[0], password="secret-new-pass")
    with db.unit_of_work(read_only=True) as uow:
        stored = [repr((e.type, e.data)) for e in uow.session.scalars(select(Event))]
    assert any("client.password_reset" in row for row in stored)
    for secret in (*tokens, "secret-new-pass", "reset_url"):
        assert not any(secret in row for row in stored)
