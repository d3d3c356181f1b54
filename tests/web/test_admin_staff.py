"""The staff pages (`/admin/staff`) and the admin's own account (`/admin/account`)."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.services import staff
from tests.conftest import Api
from tests.web.conftest import ADMIN, Browsing, alert_of, field_error, flash_of


def admin_id(db: Database, email: str) -> int:
    return next(a.id for a in staff.get_list(db) if a.email == email)


def test_the_admin_creates_an_admin_whose_secrets_are_shown_once(
    app: Any, admin_web: Browsing, db: Database, api: Api
) -> None:
    assert ADMIN[0] in admin_web.get("/admin/staff").text
    page = admin_web.post(
        "/admin/staff", {"email": "ops@example.com", "name": "Ops", "password": ""}
    )
    assert page.status_code == 200 and "Admin created" in page.text
    password = re.search(r"<dt>Password</dt><dd><code>([^<]+)</code>", page.text)
    token = re.search(r"<dt>API token</dt><dd><code>([^<]+)</code>", page.text)
    assert password and token
    Browsing(TestClient(app)).login("/admin/login", "ops@example.com", password.group(1))
    assert api.ok("admin/staff/get_list", auth=("admin", token.group(1)))
    listed = admin_web.get("/admin/staff").text
    assert "ops@example.com" in listed and token.group(1) not in listed


def test_a_refused_admin_keeps_what_was_typed(admin_web: Browsing, db: Database) -> None:
    admin_web.get("/admin/staff")
    page = admin_web.post("/admin/staff", {"email": "not-an-email", "name": "Ops"})
    assert page.status_code == 400 and field_error(page.text, "email")
    assert 'value="not-an-email"' in page.text and 'value="Ops"' in page.text
    page = admin_web.post("/admin/staff", {"email": ADMIN[0], "name": "Twin"})
    assert page.status_code == 409 and alert_of(page.text)
    assert len(staff.get_list(db)) == 1


def test_the_admin_edits_another_admins_name_and_email(admin_web: Browsing, db: Database) -> None:
    admin_web.get("/admin/staff")
    admin_web.post("/admin/staff", {"email": "ops@example.com", "name": "Ops"})
    path = f"/admin/staff/{admin_id(db, 'ops@example.com')}"
    assert 'value="Ops"' in admin_web.get(path).text
    page = admin_web.post(path, {"name": "Operations", "email": "ops@new.example"})
    assert flash_of(page.text) == "Admin saved." and 'value="Operations"' in page.text
    page = admin_web.post(path, {"name": "Again", "email": ADMIN[0]})
    assert page.status_code == 409 and 'value="Again"' in page.text
    assert [a.name for a in staff.get_list(db) if a.email == "ops@new.example"] == ["Operations"]


def test_deleting_an_admin_needs_confirmation_and_never_takes_the_last(
    admin_web: Browsing, db: Database
) -> None:
    me = f"/admin/staff/{admin_id(db, ADMIN[0])}"
    admin_web.get(me)
    page = admin_web.post(f"{me}/delete", {"confirm": "1"})
    assert page.status_code == 409 and alert_of(page.text) == "The last admin cannot be deleted"
    admin_web.get("/admin/staff")
    admin_web.post("/admin/staff", {"email": "ops@example.com"})
    other = f"/admin/staff/{admin_id(db, 'ops@example.com')}"
    admin_web.get(other)
    assert admin_web.post(f"{other}/delete", {}).status_code == 400
    page = admin_web.post(f"{other}/delete", {"confirm": "1"})
    assert (
        page.url.path == "/admin/staff" and flash_of(page.text) == "Admin ops@example.com deleted."
    )
    assert [a.email for a in staff.get_list(db)] == [ADMIN[0]]


def test_the_admin_changes_their_own_password_and_email(app: Any, admin_web: Browsing) -> None:
    elsewhere = Browsing(TestClient(app))
    elsewhere.login("/admin/login", *ADMIN)
    admin_web.get("/admin/account")
    change = {
        "current_password": "wrong-password",
        "password": "admin-pass-2",
        "password_confirm": "admin-pass-2",
    }
    page = admin_web.post("/admin/account/password", change)
    assert page.status_code in (400, 401) and field_error(page.text, "current_password")
    page = admin_web.post("/admin/account/password", {**change, "current_password": ADMIN[1]})
    assert flash_of(page.text) == "Your password is changed. Your other sessions are logged out."
    assert admin_web.get("/admin/account").url.path == "/admin/account"
    assert elsewhere.get("/admin/account").url.path == "/admin"
    page = admin_web.post(
        "/admin/account/email", {"email": "root@new.example", "password": ADMIN[1]}
    )
    assert page.status_code in (400, 401) and 'value="root@new.example"' in page.text
    page = admin_web.post(
        "/admin/account/email", {"email": "root@new.example", "password": "admin-pass-2"}
    )
    assert flash_of(page.text) == "Your email is changed. Log in with it from now on."
    Browsing(TestClient(app)).login("/admin/login", "root@new.example", "admin-pass-2")


def test_staff_pages_are_for_admins_only(
    app: Any, admin_web: Browsing, client_web: Browsing, db: Database
) -> None:
    me = admin_id(db, ADMIN[0])
    for path in ("/admin/staff", f"/admin/staff/{me}", "/admin/account"):
        response = client_web.client.get(path, follow_redirects=False)
        assert response.headers["location"] == "/admin", path
    posts = (
        ("/admin/staff", {"email": "intruder@example.com"}),
        (f"/admin/staff/{me}", {"name": "Owned", "email": "intruder@example.com"}),
        ("/admin/account/email", {"email": "intruder@example.com", "password": ADMIN[1]}),
    )
    for path, form in posts:
        response = client_web.client.post(
            path, data={**form, "csrf": client_web.csrf}, follow_redirects=False
        )
        assert response.headers["location"] == "/admin", path
        admin_web.get("/admin/staff")
        assert admin_web.post(path, {**form, "csrf": "forged"}).status_code == 403, path
    assert [(a.email, a.name) for a in staff.get_list(db)] == [(ADMIN[0], "root")]
