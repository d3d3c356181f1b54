"""A client's own profile, password and email (DESIGN.md section 10)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from keyvend.db.models import Event
from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients
from tests.conftest import Api

JO_PASSWORD = "jo-pass-123"  # the `customer` fixture's
PROFILE = {
    "first_name": "Joanna",
    "last_name": "Lee",
    "company": "Lee & Co",
    "address_1": "1 Main Street",
    "city": "Springfield",
    "postcode": "12345",
    "country": "US",
}


def event_rows(db: Database) -> list[tuple[str, int | None, dict[str, Any]]]:
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.scalars(select(Event).order_by(Event.seq))
        return [(e.type, e.client_id, dict(e.data)) for e in rows]


def log_in(client: TestClient, email: str, password: str) -> dict[str, str]:
    """Log `client` in; the CSRF header its session calls need."""
    body = client.post("/api/guest/client/login", json={"email": email, "password": password})
    assert body.json()["error"] is None, body.json()
    return {"X-CSRF-Token": body.json()["result"]["csrf_token"]}


def session_works(client: TestClient, csrf: dict[str, str]) -> bool:
    return client.post("/api/client/profile/get", headers=csrf).json()["error"] is None


def logs_in(api: Api, email: str, password: str) -> bool:
    _, body = api.call("guest/client/login", email=email, password=password)
    return body["error"] is None


@pytest.fixture
def other(db: Database) -> dict[str, Any]:
    """A second client."""
    account = clients.create(
        db, ClientCreate(email="max@example.com", first_name="Max", password="max-pass-123")
    )
    return {"id": account.id, "email": account.email, "auth": ("client", account.api_token)}


def test_a_client_updates_their_profile(api: Api, db: Database, customer: dict[str, Any]) -> None:
    profile = api.ok("client/profile/update", auth=customer["auth"], **PROFILE)
    assert {name: profile[name] for name in PROFILE} == PROFILE
    assert api.ok("client/profile/get", auth=customer["auth"]) == profile
    assert ("client.updated", customer["id"], {"fields": sorted(PROFILE)}) in event_rows(db)


def test_a_profile_update_changes_only_the_fields_sent(api: Api, customer: dict[str, Any]) -> None:
    api.ok("client/profile/update", auth=customer["auth"], **PROFILE)
    profile = api.ok("client/profile/update", auth=customer["auth"], city=" Shelbyville ")
    assert profile["city"] == "Shelbyville"
    assert profile["company"] == "Lee & Co" and profile["first_name"] == "Joanna"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("first_name", "   ", "first_name is required"),
        ("first_name", "x" * 101, "first_name must be at most 100 characters"),
        ("last_name", "x" * 101, "last_name must be at most 100 characters"),
        ("company", "x" * 256, "company: String should have at most 255 characters"),
        ("city", "x" * 101, "city must be at most 100 characters"),
        ("postcode", "x" * 33, "postcode must be at most 32 characters"),
        ("country", "x" * 101, "country must be at most 100 characters"),
        ("city", 12, "city: Input should be a valid string"),
    ],
)
def test_a_bad_profile_field_is_refused_and_changes_nothing(
    api: Api, customer: dict[str, Any], field: str, value: Any, words: str
) -> None:
    before = api.ok("client/profile/get", auth=customer["auth"])
    error = api.error("client/profile/update", auth=customer["auth"], **{**PROFILE, field: value})
    assert error == {"message": words, "code": 9999}
    assert api.ok("client/profile/get", auth=customer["auth"]) == before


def test_a_client_changes_only_their_own_profile(
    api: Api, customer: dict[str, Any], other: dict[str, Any]
) -> None:
    before = api.ok("client/profile/get", auth=other["auth"])
    api.ok("client/profile/update", auth=customer["auth"], id=other["id"], city="Elsewhere")
    assert api.ok("client/profile/get", auth=other["auth"]) == before
    assert api.ok("client/profile/get", auth=customer["auth"])["city"] == "Elsewhere"
    api.ok(
        "client/profile/change_password",
        auth=customer["auth"],
        id=other["id"],
        current_password=JO_PASSWORD,
        new_password="jo-new-pass-1",
    )
    assert logs_in(api, other["email"], "max-pass-123")


def test_change_password_needs_the_current_password(api: Api, customer: dict[str, Any]) -> None:
    error = api.error(
        "client/profile/change_password",
        auth=customer["auth"],
        current_password="not-my-password",
        new_password="jo-new-pass-1",
    )
    assert error == {"message": "Your current password is not correct", "code": 9999}
    assert logs_in(api, customer["email"], JO_PASSWORD)
    assert not logs_in(api, customer["email"], "jo-new-pass-1")


def test_change_password_refuses_a_short_new_password(api: Api, customer: dict[str, Any]) -> None:
    error = api.error(
        "client/profile/change_password",
        auth=customer["auth"],
        current_password=JO_PASSWORD,
        new_password="short",
    )
    assert "password must be 8 to 256 characters long" in error["message"]
    assert logs_in(api, customer["email"], JO_PASSWORD)


def test_change_password_keeps_the_callers_session_and_ends_the_others(
    app: Any, api: Api, customer: dict[str, Any], other: dict[str, Any]
) -> None:
    with TestClient(app) as mine, TestClient(app) as elsewhere, TestClient(app) as maxs:
        my_csrf = log_in(mine, customer["email"], JO_PASSWORD)
        their_csrf = log_in(elsewhere, customer["email"], JO_PASSWORD)
        max_csrf = log_in(maxs, other["email"], "max-pass-123")
        response = mine.post(
            "/api/client/profile/change_password",
            headers=my_csrf,
            json={"current_password": JO_PASSWORD, "new_password": "jo-new-pass-1"},
        )
        assert response.json() == {"result": True, "error": None}
        assert session_works(mine, my_csrf)
        assert not session_works(elsewhere, their_csrf)
        assert session_works(maxs, max_csrf)  # another client's session is not touched
    assert logs_in(api, customer["email"], "jo-new-pass-1")
    assert not logs_in(api, customer["email"], JO_PASSWORD)


def test_change_password_by_api_token_ends_every_session(
    app: Any, api: Api, customer: dict[str, Any]
) -> None:
    with TestClient(app) as browser:
        csrf = log_in(browser, customer["email"], JO_PASSWORD)
        api.ok(
            "client/profile/change_password",
            auth=customer["auth"],
            current_password=JO_PASSWORD,
            new_password="jo-new-pass-1",
        )
        assert not session_works(browser, csrf)
    assert api.ok("client/profile/get", auth=customer["auth"])["id"] == customer["id"]


def test_change_email_needs_the_password_and_moves_the_login(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    wrong = api.error(
        "client/profile/change_email",
        auth=customer["auth"],
        email="jo.new@example.com",
        password="not-my-password",
    )
    assert wrong == {"message": "Your current password is not correct", "code": 9999}
    assert api.ok("client/profile/get", auth=customer["auth"])["email"] == customer["email"]
    assert api.ok(
        "client/profile/change_email",
        auth=customer["auth"],
        email=" Jo.New@Example.com ",
        password=JO_PASSWORD,
    )
    assert api.ok("client/profile/get", auth=customer["auth"])["email"] == "jo.new@example.com"
    assert logs_in(api, "jo.new@example.com", JO_PASSWORD)
    assert not logs_in(api, customer["email"], JO_PASSWORD)
    assert ("client.updated", customer["id"], {"fields": ["email"]}) in event_rows(db)


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("max@example.com", "This email is already registered"),
        ("MAX@example.com", "This email is already registered"),
        ("not-an-email", "email must be a valid email address"),
        ("", "email must be a valid email address"),
    ],
)
def test_change_email_refuses_a_taken_or_invalid_email(
    api: Api, customer: dict[str, Any], other: dict[str, Any], email: str, error: str
) -> None:
    refused = api.error(
        "client/profile/change_email", auth=customer["auth"], email=email, password=JO_PASSWORD
    )
    assert refused == {"message": error, "code": 9999}
    assert api.ok("client/profile/get", auth=customer["auth"])["email"] == customer["email"]


def test_changing_to_the_same_email_is_allowed(api: Api, customer: dict[str, Any]) -> None:
    assert api.ok(
        "client/profile/change_email",
        auth=customer["auth"],
        email=customer["email"],
        password=JO_PASSWORD,
    )


def test_account_changes_record_events_without_a_password_or_token(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    cid = api.guest(
        "client/create", email="new@example.com", first_name="New", password="sign-up-pass"
    )
    api.admin("client/update", id=cid, last_name="Person", password="admin-set-pass")
    api.ok(
        "client/profile/change_password",
        auth=customer["auth"],
        current_password=JO_PASSWORD,
        new_password="jo-new-pass-1",
    )
    api.admin("client/delete", id=cid)
    rows = event_rows(db)
    assert ("client.created", cid, {}) in rows
    assert ("client.created", customer["id"], {}) in rows
    assert ("client.updated", cid, {"fields": ["last_name", "password"]}) in rows
    assert ("client.updated", customer["id"], {"fields": ["password"]}) in rows
    assert ("client.deleted", cid, {}) in rows
    secrets = ("sign-up-pass", "admin-set-pass", "jo-new-pass-1", JO_PASSWORD, customer["token"])
    assert not any(secret in repr(rows) for secret in secrets)
    with db.unit_of_work(read_only=True) as uow:
        actors = {e.actor for e in uow.session.scalars(select(Event))}
    assert f"client:{customer['id']}" in actors
