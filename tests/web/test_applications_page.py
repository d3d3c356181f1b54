"""The applications page (`/admin/applications`): create (the token shown once), rename, reset
the token and delete, each behind its form's CSRF token and, where it bites, a confirmation."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect
from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.services import application
from tests.conftest import Api
from tests.web.conftest import ADMIN, Browsing, field_error, flash_of, log_in

_TOKEN = re.compile(r"<code class=\"key\" data-new-token[^>]*>(kva_[^<]+)</code>")


def shown_token(html: str) -> str | None:
    found = _TOKEN.search(html)
    return found.group(1) if found else None


def guest_check(api: Api, token: str, key: str) -> int:
    """The HTTP status of a key check sent on behalf of the application holding `token`."""
    response = api.client.post(
        "/api/guest/serviceapikey/check",
        json={"key": key},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code


def create(web: Browsing, name: str) -> Any:
    web.get("/admin/applications")
    return web.post("/admin/applications", {"name": name})


def test_a_new_applications_token_is_shown_once_and_works(
    admin_web: Browsing, db: Database, api: Api, active_order: dict[str, Any]
) -> None:
    page = create(admin_web, "Billing backend")
    token = shown_token(page.text)
    assert page.status_code == 200 and token and token.startswith("kva_")
    assert "it will not be shown again" in page.text
    [made] = application.get_list(db)
    assert made.name == "Billing backend" and token.startswith(made.token_hint)
    assert guest_check(api, token, active_order["key"]) == 200
    listed = admin_web.get("/admin/applications").text
    assert token not in listed and shown_token(listed) is None
    assert f"<code>{made.token_hint}…</code>" in listed and "Billing backend" in listed


def test_a_nameless_application_is_refused_at_the_name_field(
    admin_web: Browsing, db: Database
) -> None:
    page = create(admin_web, "  ")
    assert page.status_code == 400 and field_error(page.text, "name") == "Name is required"
    assert application.get_list(db) == []


def test_the_admin_renames_an_application_and_its_token_stays(
    admin_web: Browsing, db: Database
) -> None:
    token = shown_token(create(admin_web, "Old name").text)
    app_id = application.get_list(db)[0].id
    page = admin_web.post(f"/admin/applications/{app_id}/rename", {"name": "New name"})
    assert flash_of(page.text) == "Application renamed to “New name”."
    assert [a.name for a in application.get_list(db)] == ["New name"]
    assert token and application.identify(db, token) == app_id
    page = admin_web.post(f"/admin/applications/{app_id}/rename", {"name": ""})
    assert page.status_code == 400 and "Name is required" in page.text
    assert f'id="name-{app_id}"' in page.text and '<details class="edit" open>' in page.text


def test_reset_and_delete_need_confirmation(
    admin_web: Browsing, db: Database, api: Api, active_order: dict[str, Any]
) -> None:
    old = shown_token(create(admin_web, "Checker").text)
    assert old
    app_id = application.get_list(db)[0].id
    assert admin_web.post(f"/admin/applications/{app_id}/reset", {}).status_code == 400
    assert guest_check(api, old, active_order["key"]) == 200
    page = admin_web.post(f"/admin/applications/{app_id}/reset", {"confirm": "1"})
    new = shown_token(page.text)
    assert new and new != old and "Token reset. The old token no longer works." in page.text
    assert guest_check(api, old, active_order["key"]) == 401
    assert guest_check(api, new, active_order["key"]) == 200
    assert admin_web.post(f"/admin/applications/{app_id}/delete", {}).status_code == 400
    page = admin_web.post(f"/admin/applications/{app_id}/delete", {"confirm": "1"})
    assert flash_of(page.text) == "Application deleted. Its token no longer works."
    assert application.get_list(db) == [] and "No applications yet." in page.text
    assert guest_check(api, new, active_order["key"]) == 401


def test_every_applications_form_needs_its_csrf_token(admin_web: Browsing, db: Database) -> None:
    create(admin_web, "Checker")
    app_id = application.get_list(db)[0].id
    posts = [
        ("/admin/applications", {"name": "Forged"}),
        (f"/admin/applications/{app_id}/rename", {"name": "Forged"}),
        (f"/admin/applications/{app_id}/reset", {"confirm": "1"}),
        (f"/admin/applications/{app_id}/delete", {"confirm": "1"}),
    ]
    for path, form in posts:
        assert admin_web.post(path, {**form, "csrf": "forged"}).status_code == 403, path
    assert [a.name for a in application.get_list(db)] == ["Checker"]


def test_the_applications_page_is_for_admins_only(app: Any, customer: dict[str, Any]) -> None:
    response = TestClient(app).get("/admin/applications", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about the page
def test_in_a_browser_the_token_is_shown_once_then_reset_and_deleted(
    new_context: Callable[..., BrowserContext], db: Database, api: Api
) -> None:
    page = new_context(viewport={"width": 360, "height": 740}).new_page()
    log_in(page, "/admin", *ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Applications").click()
    page.get_by_label("Name", exact=True).fill("Billing backend")
    page.get_by_role("button", name="Create application").click()
    shown = page.locator("[data-new-token]")
    expect(shown).to_have_text(re.compile(r"^kva_"))
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    first = shown.inner_text()
    assert application.identify(db, first) == application.get_list(db)[0].id
    page.goto("/admin/applications")  # coming back shows the start of the token only
    expect(page.locator("[data-new-token]")).to_have_count(0)
    expect(page.get_by_text(first[:12] + "…")).to_be_visible()
    assert first not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    card = page.locator("[data-application]")
    card.get_by_text("Reset token…").click()
    card.get_by_role("button", name="Reset token").click()
    done = page.get_by_role("heading", name="Token reset. The old token no longer works.")
    expect(done).to_be_visible()
    second = page.locator("[data-new-token]").inner_text()
    assert second != first and second.startswith("kva_")
    page.locator("[data-application]").get_by_text("Delete application…").click()
    page.get_by_role("button", name="Delete application").click()
    expect(page.locator(".flash")).to_have_text("Application deleted. Its token no longer works.")
    expect(page.get_by_text("No applications yet.")).to_be_visible()
    assert application.get_list(db) == []
