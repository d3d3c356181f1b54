"""The admin's client page: edit, suspend and activate, delete, and mail a reset link."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import NotFound
from keyvend.services import client as clients
from tests.conftest import Api
from tests.web.conftest import (
    CLIENT_PASSWORD,
    Browsing,
    alert_of,
    field_error,
    flash_of,
    mailed_link,
    mails_to,
)

DETAILS = {
    "first_name": "Joanne",
    "last_name": "Roe",
    "email": "joanne@example.com",
    "company": "Roe Ltd",
    "address_1": "2 High Street",
    "city": "Shelbyville",
    "postcode": "54321",
    "country": "Sylvania",
}


def test_the_admin_edits_a_clients_names_email_and_address(
    admin_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    path = f"/admin/clients/{customer['id']}"
    assert 'value="jo@example.com"' in admin_web.get(path).text
    page = admin_web.post(path, DETAILS)
    assert page.url.path == path and flash_of(page.text) == "Client saved."
    saved = clients.get(db, customer["id"])
    assert (saved.email, saved.last_name, saved.city) == (
        "joanne@example.com",
        "Roe",
        "Shelbyville",
    )


def test_a_refused_edit_keeps_what_was_typed_and_saves_nothing(
    admin_web: Browsing, customer: dict[str, Any], other_client: int, db: Database
) -> None:
    path = f"/admin/clients/{customer['id']}"
    admin_web.get(path)
    page = admin_web.post(path, {**DETAILS, "email": "not an email"})
    assert page.status_code == 400 and field_error(page.text, "email")
    assert 'value="not an email"' in page.text and 'value="Roe Ltd"' in page.text
    page = admin_web.post(path, {**DETAILS, "email": "zoe@example.com"})
    assert page.status_code == 409 and alert_of(page.text) and 'value="Sylvania"' in page.text
    saved = clients.get(db, customer["id"])
    assert (saved.email, saved.first_name, saved.company) == (customer["email"], "Jo", "")


def test_a_suspended_client_cannot_log_in_until_activated(
    app: Any, admin_web: Browsing, client_web: Browsing, customer: dict[str, Any]
) -> None:
    path = f"/admin/clients/{customer['id']}"
    admin_web.get(path)
    page = admin_web.post(f"{path}/status", {"status": "suspended"})
    assert flash_of(page.text) == "Client suspended." and "Activate client" in page.text
    assert client_web.get("/account").url.path == "/"  # the live session ends with it
    web = Browsing(TestClient(app))
    web.get("/")
    assert (
        web.post("/login", {"email": customer["email"], "password": CLIENT_PASSWORD}).status_code
        == 401
    )
    page = admin_web.post(f"{path}/status", {"status": "active"})
    assert flash_of(page.text) == "Client activated." and "Suspend client" in page.text
    web.login("/login", customer["email"], CLIENT_PASSWORD)
    assert admin_web.post(f"{path}/status", {"status": "canceled"}).status_code == 400


def test_deleting_a_client_needs_confirmation(
    admin_web: Browsing,
    active_order: dict[str, Any],
    customer: dict[str, Any],
    db: Database,
    api: Api,
) -> None:
    path = f"/admin/clients/{customer['id']}"
    admin_web.get(path)
    assert admin_web.post(f"{path}/delete", {}).status_code == 400
    assert clients.get(db, customer["id"]).email == customer["email"]
    page = admin_web.post(f"{path}/delete", {"confirm": "1"})
    assert page.url.path == "/admin/clients"
    assert flash_of(page.text) == f"Client {customer['email']} deleted."
    with pytest.raises(NotFound):
        clients.get(db, customer["id"])
    assert admin_web.get(path).status_code == 404
    assert api.error("guest/serviceapikey/check", key=active_order["key"])["message"]


def test_the_admin_mails_a_client_a_reset_link(
    app: Any, admin_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    path = f"/admin/clients/{customer['id']}"
    admin_web.get(path)
    page = admin_web.post(f"{path}/send-reset", {})
    assert flash_of(page.text) == "A password reset email is on its way to the client."
    assert mails_to(db, customer["email"]) == 1
    link = mailed_link(db, customer["email"], "/password-reset")
    web = Browsing(TestClient(app))
    web.get(link)
    new = {
        "token": link.split("token=")[1],
        "password": "jo-reset-pass",
        "password_confirm": "jo-reset-pass",
    }
    assert (
        flash_of(web.post("/password-reset", new).text)
        == "Your new password is set. Log in with it."
    )
    web.login("/login", customer["email"], "jo-reset-pass")


def test_client_changes_need_the_csrf_token_and_an_admin(
    admin_web: Browsing, client_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    path = f"/admin/clients/{customer['id']}"
    admin_web.get(path)
    for action, form in (
        ("", DETAILS),
        ("/status", {"status": "suspended"}),
        ("/delete", {"confirm": "1"}),
    ):
        assert admin_web.post(path + action, {**form, "csrf": "forged"}).status_code == 403
        response = client_web.client.post(
            path + action, data={**form, "csrf": client_web.csrf}, follow_redirects=False
        )
        assert response.headers["location"] == "/admin"
    saved = clients.get(db, customer["id"])
    assert (saved.email, saved.status) == (customer["email"], "active")
    assert mails_to(db, customer["email"]) == 0
