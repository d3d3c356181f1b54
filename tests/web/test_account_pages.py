"""My account (`/account`): profile, password and email forms; a refused form keeps what was
typed, shows the message at its field and saves nothing."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.services import client as clients
from tests.web.conftest import CLIENT_PASSWORD, Browsing, alert_of, field_error, flash_of

PROFILE = {
    "first_name": "Joanna",
    "last_name": "Doe",
    "company": "Doe & Co",
    "address_1": "1 Main Street",
    "city": "Springfield",
    "postcode": "12345",
    "country": "Freedonia",
}


def logged_in(app: Any, email: str, password: str) -> Browsing:
    web = Browsing(TestClient(app))
    web.login("/login", email, password)
    return web


def test_the_profile_form_saves_names_and_address(
    client_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    client_web.get("/account")
    page = client_web.post("/account/profile", PROFILE)
    assert page.url.path == "/account" and flash_of(page.text) == "Your profile is saved."
    assert 'value="Doe &amp; Co"' in page.text and 'value="Freedonia"' in page.text
    saved = clients.get(db, customer["id"])
    assert (saved.first_name, saved.company, saved.postcode) == ("Joanna", "Doe & Co", "12345")


def test_a_refused_profile_keeps_what_was_typed_and_saves_nothing(
    client_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    client_web.get("/account")
    page = client_web.post("/account/profile", {**PROFILE, "first_name": " "})
    assert page.status_code == 400
    assert "first_name" not in (field_error(page.text, "first_name") or "first_name")
    assert 'value="Doe &amp; Co"' in page.text and 'value="1 Main Street"' in page.text
    page = client_web.post("/account/profile", {**PROFILE, "postcode": "9" * 40})
    assert field_error(page.text, "postcode") and 'value="Joanna"' in page.text
    saved = clients.get(db, customer["id"])
    assert (saved.first_name, saved.company) == ("Jo", "")


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    app: Any, client_web: Browsing, customer: dict[str, Any]
) -> None:
    elsewhere = logged_in(app, customer["email"], CLIENT_PASSWORD)
    client_web.get("/account")
    change = {"current_password": CLIENT_PASSWORD, "password": "jo-new-pass-1"}
    page = client_web.post("/account/password", {**change, "password_confirm": "jo-new-pass-2"})
    assert page.status_code == 400
    assert field_error(page.text, "password_confirm") == "The two passwords do not match"
    wrong = {**change, "current_password": "not-my-password", "password_confirm": "jo-new-pass-1"}
    page = client_web.post("/account/password", wrong)
    assert page.status_code in (400, 401) and field_error(page.text, "current_password")
    assert elsewhere.get("/account").url.path == "/account"  # nothing changed yet
    page = client_web.post("/account/password", {**change, "password_confirm": "jo-new-pass-1"})
    assert page.url.path == "/account"
    assert flash_of(page.text) == "Your password is changed. Your other sessions are logged out."
    assert client_web.get("/account").url.path == "/account"
    assert elsewhere.get("/account").url.path == "/"
    logged_in(app, customer["email"], "jo-new-pass-1")


def test_changing_the_email_needs_the_password_and_a_free_address(
    app: Any, client_web: Browsing, customer: dict[str, Any], other_client: int, db: Database
) -> None:
    client_web.get("/account")
    page = client_web.post("/account/email", {"email": "jo@new.example", "password": "wrong-one"})
    assert page.status_code in (400, 401) and field_error(page.text, "password")
    assert 'value="jo@new.example"' in page.text
    page = client_web.post(
        "/account/email", {"email": "zoe@example.com", "password": CLIENT_PASSWORD}
    )
    assert page.status_code == 409 and alert_of(page.text)
    assert clients.get(db, customer["id"]).email == customer["email"]
    page = client_web.post(
        "/account/email", {"email": "jo@new.example", "password": CLIENT_PASSWORD}
    )
    assert flash_of(page.text) == "Your email is changed. Log in with it from now on."
    assert clients.get(db, customer["id"]).email == "jo@new.example"
    logged_in(app, "jo@new.example", CLIENT_PASSWORD)


def test_account_forms_without_the_csrf_token_change_nothing(
    client_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    client_web.get("/account")
    assert client_web.post("/account/profile", {**PROFILE, "csrf": "forged"}).status_code == 403
    change = {"email": "jo@new.example", "password": CLIENT_PASSWORD, "csrf": None}
    assert client_web.post("/account/email", change).status_code == 403
    saved = clients.get(db, customer["id"])
    assert (saved.first_name, saved.email) == ("Jo", customer["email"])


def test_account_forms_refuse_anyone_but_a_logged_in_client(
    app: Any, admin_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    for path in ("/account/profile", "/account/password", "/account/email"):
        response = admin_web.client.post(
            path, data={"csrf": admin_web.csrf, **PROFILE}, follow_redirects=False
        )
        assert response.status_code == 303 and response.headers["location"] == "/", path
    assert clients.get(db, customer["id"]).first_name == "Jo"
