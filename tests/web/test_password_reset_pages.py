"""The forgotten-password pages of both areas: ask for a link, set a new password through it.
The request page never tells whether an email is registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from tests.conftest import SECRET
from tests.web.conftest import (
    ADMIN,
    CLIENT_PASSWORD,
    Browsing,
    alert_of,
    field_error,
    flash_of,
    mailed_link,
    mails_to,
)

SENT = "If that email is registered, a reset link is on its way."
INVALID = "This reset link is invalid or has expired"


def logs_in(app: Any, path: str, email: str, password: str) -> bool:
    web = Browsing(TestClient(app))
    web.get("/admin" if path.startswith("/admin") else "/")
    return web.post(path, {"email": email, "password": password}).status_code == 200


def ask_for_link(app: Any, page: str, email: str) -> Any:
    web = Browsing(TestClient(app))
    web.get(page)
    return web.post(page, {"email": email})


def test_both_login_forms_link_to_their_reset_page(app: Any) -> None:
    web = Browsing(TestClient(app))
    assert '<a href="/password-reset">Forgot password?</a>' in web.get("/").text
    assert '<a href="/admin/password-reset">Forgot password?</a>' in web.get("/admin").text


def test_the_request_answers_alike_whether_or_not_the_email_is_registered(
    app: Any, db: Database, customer: dict[str, Any]
) -> None:
    web = Browsing(TestClient(app))
    web.get("/password-reset")
    known = web.post("/password-reset", {"email": customer["email"]})
    unknown = web.post("/password-reset", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.url.path == unknown.url.path == "/password-reset"
    assert known.text == unknown.text and flash_of(known.text) == SENT
    assert mails_to(db, customer["email"]) == 1 and mails_to(db, "nobody@example.com") == 0


def test_a_client_sets_a_new_password_through_the_mailed_link(
    app: Any, db: Database, customer: dict[str, Any]
) -> None:
    ask_for_link(app, "/password-reset", customer["email"])
    link = mailed_link(db, customer["email"], "/password-reset")
    web = Browsing(TestClient(app))
    form = web.get(link)
    token = link.split("token=")[1]
    assert form.status_code == 200 and f'name="token" value="{token}"' in form.text
    typed = {"token": token, "password": "brand-new-pass", "password_confirm": "brand-new-pazz"}
    page = web.post("/password-reset", typed)
    assert page.status_code == 400
    assert field_error(page.text, "password_confirm") == "The two passwords do not match"
    page = web.post("/password-reset", {**typed, "password": "short", "password_confirm": "short"})
    assert (field_error(page.text, "password") or "").endswith("8 to 256 characters long")
    assert logs_in(app, "/login", customer["email"], CLIENT_PASSWORD)  # nothing saved yet
    page = web.post("/password-reset", {**typed, "password_confirm": "brand-new-pass"})
    assert (
        page.url.path == "/" and flash_of(page.text) == "Your new password is set. Log in with it."
    )
    assert logs_in(app, "/login", customer["email"], "brand-new-pass")
    assert not logs_in(app, "/login", customer["email"], CLIENT_PASSWORD)
    again = {"password": "third-pass-123", "password_confirm": "third-pass-123"}
    page = web.post("/password-reset", {**typed, **again})
    assert page.status_code == 400 and alert_of(page.text) == INVALID  # the link works once


def test_an_admin_resets_their_password_through_the_admin_page(
    app: Any, db: Database, api: Any
) -> None:
    page = ask_for_link(app, "/admin/password-reset", ADMIN[0])
    assert page.url.path == "/admin/password-reset" and flash_of(page.text) == SENT
    link = mailed_link(db, ADMIN[0], "/admin/password-reset")
    assert link.startswith("/admin/password-reset?token=")
    web = Browsing(TestClient(app))
    web.get(link)
    new = {"password": "admin-pass-2", "password_confirm": "admin-pass-2"}
    page = web.post("/admin/password-reset", {"token": link.split("token=")[1], **new})
    assert page.url.path == "/admin" and 'action="/admin/login"' in page.text
    assert logs_in(app, "/admin/login", ADMIN[0], "admin-pass-2")


def test_a_client_link_does_not_reset_an_admin(app: Any, db: Database, api: Any) -> None:
    ask_for_link(app, "/admin/password-reset", ADMIN[0])
    token = mailed_link(db, ADMIN[0], "/admin/password-reset").split("token=")[1]
    web = Browsing(TestClient(app))
    web.get(f"/password-reset?token={token}")
    new = {"token": token, "password": "admin-pass-2", "password_confirm": "admin-pass-2"}
    page = web.post("/password-reset", new)
    assert page.status_code == 400 and alert_of(page.text) == INVALID
    assert logs_in(app, "/admin/login", *ADMIN)


def test_a_made_up_token_shows_the_message_and_a_way_back(app: Any) -> None:
    web = Browsing(TestClient(app))
    web.get("/password-reset?token=made-up")
    new = {"token": "made-up", "password": "brand-new-pass", "password_confirm": "brand-new-pass"}
    page = web.post("/password-reset", new)
    assert page.status_code == 400 and alert_of(page.text) == INVALID
    assert '<a href="/password-reset">Ask for a new one</a>' in page.text


def test_reset_forms_without_the_form_token_are_refused(
    app: Any, db: Database, customer: dict[str, Any]
) -> None:
    web = Browsing(TestClient(app))
    web.get("/password-reset")
    page = web.post("/password-reset", {"email": customer["email"], "csrf": None})
    assert page.status_code == 403 and mails_to(db, customer["email"]) == 0
    page = web.post("/admin/password-reset", {"email": ADMIN[0], "csrf": "forged"})
    assert page.status_code == 403


def test_a_malformed_email_is_shown_at_its_field(app: Any) -> None:
    page = ask_for_link(app, "/password-reset", "not-an-email")
    assert page.status_code == 400 and 'value="not-an-email"' in page.text
    assert "valid email address" in (field_error(page.text, "email") or "")


def test_the_reset_pages_spend_the_password_reset_budget(
    tmp_path: Path, db: Database, api: Any
) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, rate_limit_password_reset="2/hour")
    web = Browsing(TestClient(create_app(settings, database=db)))
    web.get("/admin")
    assert web.post("/admin/password-reset", {"email": ADMIN[0]}).status_code in (200, 303)
    assert web.post("/password-reset", {"email": "jo@example.com"}).status_code in (200, 303)
    for page in ("/admin/password-reset", "/password-reset"):
        refused = web.post(page, {"email": ADMIN[0]})
        assert refused.status_code == 429, page
        assert (alert_of(refused.text) or "").startswith("Too many requests. Try again in")


def test_a_client_locked_out_by_failed_logins_can_still_ask_for_a_link(
    tmp_path: Path, db: Database, api: Any
) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, rate_limit_login="2/hour")
    web = Browsing(TestClient(create_app(settings, database=db)))
    web.get("/admin")
    for _ in range(2):
        web.post("/admin/login", {"email": ADMIN[0], "password": "wrong-pass"})
    assert web.post("/admin/login", {"email": ADMIN[0], "password": "x"}).status_code == 429
    assert web.post("/admin/password-reset", {"email": ADMIN[0]}).status_code in (200, 303)
