"""Administrators: the team (admin/staff/*) and each admin's own password and email."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from keyvend.db.models import Event
from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import StaffCreate
from keyvend.services import staff
from tests.conftest import Api
from tests.support.api import admin_error

ROOT_PASSWORD = "admin-pass-1"  # the `api` fixture's admin, root@example.com
LAST = {"message": "The last admin cannot be deleted", "code": 9999}


def event_rows(db: Database) -> list[tuple[str, dict[str, Any]]]:
    with db.unit_of_work(read_only=True) as uow:
        return [(e.type, dict(e.data)) for e in uow.session.scalars(select(Event))]


def logs_in(api: Api, email: str, password: str) -> bool:
    _, body = api.call("guest/staff/login", email=email, password=password)
    return body["error"] is None


def log_in(client: TestClient, email: str, password: str) -> dict[str, str]:
    """Log `client` in as an admin; the CSRF header its session calls need."""
    body = client.post("/api/guest/staff/login", json={"email": email, "password": password})
    assert body.json()["error"] is None, body.json()
    return {"X-CSRF-Token": body.json()["result"]["csrf_token"]}


def session_works(client: TestClient, csrf: dict[str, str]) -> bool:
    return client.post("/api/admin/profile/get", headers=csrf).json()["error"] is None


@pytest.fixture
def second(db: Database) -> dict[str, Any]:
    """Another administrator, with a password and an API token."""
    account = staff.create_admin(
        db, StaffCreate(email="ops@example.com", name="Ops", password="ops-pass-123")
    )
    return {"id": account.id, "email": account.email, "auth": ("admin", account.api_token)}


def root_id(api: Api) -> int:
    return int(api.admin("profile/get")["id"])


def test_an_admin_creates_another_who_can_log_in(api: Api, db: Database) -> None:
    aid = api.admin("staff/create", email=" Ops@Example.com ", name="Ops", password="ops-pass-12")
    found = api.admin("staff/get_list")
    assert found == [
        {"id": root_id(api), "email": "root@example.com", "name": "root", "role": "admin"},
        {"id": aid, "email": "ops@example.com", "name": "Ops", "role": "admin"},
    ]
    assert logs_in(api, "ops@example.com", "ops-pass-12")
    assert ("staff.created", {"admin_id": aid}) in event_rows(db)


def test_an_admin_created_without_a_name_is_named_after_the_email(api: Api) -> None:
    aid = api.admin("staff/create", email="helper@example.com")
    assert [a["name"] for a in api.admin("staff/get_list") if a["id"] == aid] == ["helper"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"email": "root@example.com"}, "An admin with email root@example.com already exists"),
        ({"email": "not-an-email"}, "email must be a valid email address"),
        ({"email": "a@example.com", "password": "short"}, "password must be 8 to 256"),
    ],
)
def test_staff_create_refuses_bad_input_and_creates_nothing(
    api: Api, params: dict[str, Any], words: str
) -> None:
    assert words in admin_error(api, "staff/create", **params)["message"]
    assert len(api.admin("staff/get_list")) == 1


def test_an_admin_updates_another_admins_email_and_name(api: Api, second: dict[str, Any]) -> None:
    updated = api.admin("staff/update", id=second["id"], email="ops2@example.com", name="Ops 2")
    assert updated == {
        "id": second["id"],
        "email": "ops2@example.com",
        "name": "Ops 2",
        "role": "admin",
    }
    assert logs_in(api, "ops2@example.com", "ops-pass-123")
    taken = admin_error(api, "staff/update", id=second["id"], email="ROOT@example.com")
    assert taken["message"] == "An admin with email root@example.com already exists"
    bad = admin_error(api, "staff/update", id=second["id"], email="nope", name="Changed")
    assert bad["message"] == "email must be a valid email address"
    assert [a["name"] for a in api.admin("staff/get_list") if a["id"] == second["id"]] == ["Ops 2"]


def test_unknown_admin_ids_are_not_found(api: Api) -> None:
    for path, extra in (("staff/update", {"name": "x"}), ("staff/delete", {})):
        error = admin_error(api, path, id=99999, **extra)
        assert error == {"message": "Admin not found", "code": 9999}


def test_the_last_admin_cannot_be_deleted(api: Api) -> None:
    assert admin_error(api, "staff/delete", id=root_id(api)) == LAST
    assert api.admin("profile/get")["email"] == "root@example.com"


def test_deleting_an_admin_ends_their_token_and_sessions(
    app: Any, api: Api, db: Database, second: dict[str, Any]
) -> None:
    with TestClient(app) as browser:
        csrf = log_in(browser, second["email"], "ops-pass-123")
        assert api.admin("staff/delete", id=second["id"]) is True
        ended = browser.post("/api/admin/profile/get", headers=csrf)
        assert ended.status_code == 401
    assert api.error("admin/profile/get", auth=second["auth"])["code"] == 201
    assert not logs_in(api, second["email"], "ops-pass-123")
    assert ("staff.deleted", {"admin_id": second["id"]}) in event_rows(db)
    assert admin_error(api, "staff/delete", id=root_id(api)) == LAST  # now the last one


def test_an_admin_may_delete_themself_while_another_remains(
    api: Api, second: dict[str, Any]
) -> None:
    assert api.ok("admin/staff/delete", auth=second["auth"], id=second["id"]) is True
    assert api.error("admin/profile/get", auth=second["auth"])["code"] == 201
    assert admin_error(api, "staff/delete", id=root_id(api)) == LAST


def test_clients_cannot_manage_staff(api: Api, customer: dict[str, Any]) -> None:
    for path in ("admin/staff/get_list", "admin/staff/create", "admin/staff/delete"):
        status, body = api.call(path, auth=customer["auth"], id=1, email="x@example.com")
        assert status == 401 and body["result"] is None
    assert len(api.admin("staff/get_list")) == 1


def test_an_admin_changes_their_password_keeping_this_session_only(
    app: Any, api: Api, second: dict[str, Any]
) -> None:
    wrong = admin_error(
        api, "profile/change_password", current_password="nope-nope", new_password="root-new-1"
    )
    assert wrong == {"message": "Your current password is not correct", "code": 9999}
    with TestClient(app) as mine, TestClient(app) as elsewhere, TestClient(app) as ops:
        my_csrf = log_in(mine, "root@example.com", ROOT_PASSWORD)
        their_csrf = log_in(elsewhere, "root@example.com", ROOT_PASSWORD)
        ops_csrf = log_in(ops, second["email"], "ops-pass-123")
        response = mine.post(
            "/api/admin/profile/change_password",
            headers=my_csrf,
            json={"current_password": ROOT_PASSWORD, "new_password": "root-new-1"},
        )
        assert response.json() == {"result": True, "error": None}
        assert session_works(mine, my_csrf)
        assert not session_works(elsewhere, their_csrf)
        assert session_works(ops, ops_csrf)
    assert logs_in(api, "root@example.com", "root-new-1")
    assert not logs_in(api, "root@example.com", ROOT_PASSWORD)


def test_an_admin_changes_their_email_with_their_password(api: Api, second: dict[str, Any]) -> None:
    wrong = admin_error(api, "profile/change_email", email="boss@example.com", password="nope")
    assert wrong["message"] == "Your current password is not correct"
    taken = admin_error(api, "profile/change_email", email=second["email"], password=ROOT_PASSWORD)
    assert taken["message"] == "An admin with email ops@example.com already exists"
    assert api.admin("profile/change_email", email="boss@example.com", password=ROOT_PASSWORD)
    assert api.admin("profile/get")["email"] == "boss@example.com"
    assert logs_in(api, "boss@example.com", ROOT_PASSWORD)


def test_staff_events_hold_no_password_or_token(
    api: Api, db: Database, second: dict[str, Any]
) -> None:
    aid = api.admin("staff/create", email="temp@example.com", password="temp-pass-123")
    api.admin("profile/change_password", current_password=ROOT_PASSWORD, new_password="root-new-1")
    api.admin("staff/delete", id=aid)
    rows = repr(event_rows(db))
    assert "staff.created" in rows and "staff.deleted" in rows
    for secret in (
        "temp-pass-123",
        ROOT_PASSWORD,
        "root-new-1",
        api.admin_token,
        second["auth"][1],
    ):
        assert secret not in rows
