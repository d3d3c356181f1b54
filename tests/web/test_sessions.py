"""Logging in and out of both areas and signing up, through the HTML forms (no JavaScript)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.services import client as clients
from keyvend.services.pagination import PageRequest
from tests.conftest import SECRET
from tests.web.conftest import ADMIN, Browsing, alert_of, field_error, flash_of


def test_anonymous_visitors_get_a_login_form_in_both_areas(app: Any) -> None:
    web = Browsing(TestClient(app))
    for path, action in (("/", "/login"), ("/admin", "/admin/login")):
        page = web.get(path)
        assert page.status_code == 200
        assert f'action="{action}"' in page.text
        assert 'name="email"' in page.text and 'name="password"' in page.text


def test_admin_logs_in_sees_the_dashboard_and_logs_out(app: Any, api: Any) -> None:
    web = Browsing(TestClient(app))
    page = web.login("/admin/login", *ADMIN)
    assert page.url.path == "/admin" and "Dashboard" in page.text
    page = web.post("/logout", {"next": "/admin"})
    assert page.url.path == "/admin" and flash_of(page.text) == "You are logged out."
    assert 'action="/admin/login"' in page.text


def test_wrong_password_shows_the_error_and_keeps_the_email(app: Any, api: Any) -> None:
    web = Browsing(TestClient(app))
    web.get("/admin")
    page = web.post("/admin/login", {"email": ADMIN[0], "password": "wrong-password"})
    assert page.status_code == 401
    assert alert_of(page.text) == "Please check your login details"
    assert f'value="{ADMIN[0]}"' in page.text


def test_login_without_the_form_token_is_refused(app: Any, api: Any) -> None:
    web = Browsing(TestClient(app))
    web.get("/admin")
    page = web.post("/admin/login", {"email": ADMIN[0], "password": ADMIN[1], "csrf": None})
    assert page.status_code == 403
    assert "Dashboard" not in web.get("/admin").text


def test_a_client_cannot_log_in_to_the_admin_panel(app: Any, customer: dict[str, Any]) -> None:
    web = Browsing(TestClient(app))
    web.get("/admin")
    page = web.post("/admin/login", {"email": customer["email"], "password": "jo-pass-123"})
    assert page.status_code == 401


def test_signup_logs_the_new_client_in(app: Any, db: Database) -> None:
    web = Browsing(TestClient(app))
    web.get("/signup")
    page = web.post("/signup", _signup("new@example.com"))
    assert page.url.path == "/" and "My services" in page.text
    assert flash_of(page.text) == "Your account is ready. Pick a product to order."
    assert clients.get_list(db, search="new@", page=PageRequest(1, 10)).total == 1


def test_signup_errors_keep_what_was_typed_and_save_nothing(
    app: Any, db: Database, customer: dict[str, Any]
) -> None:
    web = Browsing(TestClient(app))
    web.get("/signup")
    page = web.post("/signup", _signup(customer["email"], first_name="Jo Again"))
    assert page.status_code == 400
    assert alert_of(page.text) == "This email is already registered"
    assert 'value="Jo Again"' in page.text and f'value="{customer["email"]}"' in page.text
    page = web.post("/signup", {**_signup("other@example.com"), "password_confirm": "nope-nope"})
    assert alert_of(page.text) == "The two passwords do not match"
    assert 'value="other@example.com"' in page.text
    page = web.post("/signup", _signup("ann@example.com", first_name=""))
    assert "first_name" not in (field_error(page.text, "first_name") or "first_name")
    page = web.post("/signup", _signup("x@example.com", password="short", password_confirm="short"))
    assert (field_error(page.text, "password") or "").endswith("8 to 256 characters long")
    assert clients.get_list(db, page=PageRequest(1, 10)).total == 1


def test_signup_can_be_closed(tmp_path: Path, db: Database) -> None:
    settings = Settings(
        data_dir=tmp_path, secret_key=SECRET, allow_signup=False, rate_limit_enabled=False
    )
    web = Browsing(TestClient(create_app(settings, database=db)))
    assert "New sign-ups are closed" in web.get("/signup").text
    web.get("/")  # a page with a form, for the form token
    page = web.post("/signup", _signup("x@example.com"))
    assert page.status_code == 400 and "New sign-ups are closed" in page.text
    assert clients.get_list(db, page=PageRequest(1, 10)).total == 0


def test_login_form_is_rate_limited_like_the_api(tmp_path: Path, db: Database, api: Any) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, rate_limit_login="2/hour")
    web = Browsing(TestClient(create_app(settings, database=db)))
    web.get("/admin")
    pages = [
        web.post("/admin/login", {"email": ADMIN[0], "password": "wrong-password"})
        for _ in range(3)
    ]
    assert [page.status_code for page in pages] == [401, 401, 429]
    assert (alert_of(pages[2].text) or "").startswith("Too many requests. Try again in")


def test_successful_page_logins_do_not_spend_the_login_budget(
    tmp_path: Path, db: Database, api: Any
) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, rate_limit_login="2/hour")
    app = create_app(settings, database=db)
    for _ in range(3):
        Browsing(TestClient(app)).login("/admin/login", *ADMIN)


def _signup(email: str, **extra: str) -> dict[str, str]:
    fields = {
        "first_name": "Ann",
        "last_name": "",
        "email": email,
        "password": "sign-up-pass",
        "password_confirm": "sign-up-pass",
    }
    return {**fields, **extra}
