"""The webhooks pages (`/admin/webhooks`): create (the secret shown once), list, edit URL,
events and enabled, delete once confirmed, Send test, the delivery log and Retry."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect
from starlette.testclient import TestClient

from keyvend.adapters.webhook_sender import HttpxSender
from keyvend.db.unit_of_work import Database
from keyvend.services import webhook, webhook_delivery
from keyvend.services.pagination import PageRequest
from tests.conftest import Api
from tests.support.webhook_receiver import WebhookReceiver, verify
from tests.web.conftest import ADMIN, Browsing, field_error, flash_of, log_in

_SECRET = re.compile(r"<code class=\"key\" data-new-secret[^>]*>(whsec_[^<]+)</code>")
SENDER = HttpxSender()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def shown_secret(html: str) -> str | None:
    found = _SECRET.search(html)
    return found.group(1) if found else None


def create(web: Browsing, url: str, events: list[str]) -> Any:
    web.get("/admin/webhooks")
    return web.post("/admin/webhooks", {"url": url, "events": events, "description": "CRM"})


def test_a_new_webhooks_secret_is_shown_once(
    admin_web: Browsing, db: Database, receiver: WebhookReceiver
) -> None:
    page = create(admin_web, receiver.url, ["client.created", "order.created"])
    secret = shown_secret(page.text)
    assert page.status_code == 200 and secret and "it will not be shown again" in page.text
    [made] = webhook.get_list(db)
    assert made.events == ["client.created", "order.created"] and made.description == "CRM"
    listed = admin_web.get("/admin/webhooks").text
    assert secret not in listed and shown_secret(listed) is None
    assert f'href="/admin/webhooks/{made.id}"' in listed
    assert "client.created, order.created" in listed
    assert secret not in admin_web.get(f"/admin/webhooks/{made.id}").text


def test_a_bad_url_or_no_events_is_refused_at_its_field(admin_web: Browsing, db: Database) -> None:
    page = create(admin_web, "ftp://example.com", ["*"])
    assert page.status_code == 400
    assert field_error(page.text, "url") == "URL must be an http:// or https:// URL with a host"
    page = create(admin_web, "https://example.com/hook", [])
    assert page.status_code == 400 and "Events must name at least one event type" in page.text
    assert 'value="https://example.com/hook"' in page.text  # kept as typed
    assert webhook.get_list(db) == []


def test_the_admin_edits_disables_and_deletes_a_webhook(admin_web: Browsing, db: Database) -> None:
    create(admin_web, "https://example.com/old", ["*"])
    [made] = webhook.get_list(db)
    path = f"/admin/webhooks/{made.id}"
    assert admin_web.get(path).status_code == 200
    form = {"url": "https://example.com/new", "events": ["key.reset"], "description": ""}
    page = admin_web.post(path, form)  # "enabled" unticked
    assert flash_of(page.text) == "Webhook saved."
    saved = webhook.get(db, made.id)
    assert (saved.url, saved.events, saved.enabled) == (form["url"], ["key.reset"], False)
    page = admin_web.post(path, {**form, "url": "nope"})
    assert page.status_code == 400 and field_error(page.text, "url")
    assert 'value="nope"' in page.text and webhook.get(db, made.id).url == form["url"]
    assert admin_web.post(f"{path}/delete", {}).status_code == 400
    page = admin_web.post(f"{path}/delete", {"confirm": "1"})
    assert flash_of(page.text) == "Webhook deleted." and "No webhooks yet." in page.text
    assert admin_web.get(path).status_code == 404


def test_send_test_and_retry_show_in_the_delivery_log(
    admin_web: Browsing, db: Database, receiver: WebhookReceiver
) -> None:
    secret = shown_secret(create(admin_web, receiver.url, ["*"]).text)
    [made] = webhook.get_list(db)
    path = f"/admin/webhooks/{made.id}"
    admin_web.get(path)
    page = admin_web.post(f"{path}/test", {})
    assert flash_of(page.text) == "Test ping queued: it shows in the log below."
    receiver.answer(500)
    webhook_delivery.deliver_due(db, SENDER)
    page = admin_web.get(path)
    assert "<strong>500</strong> in " in page.text and "HTTP 500" in page.text
    [delivery] = webhook.deliveries(db, made.id, page=PageRequest()).list
    page = admin_web.post(f"{path}/deliveries/{delivery.id}/retry", {})
    assert flash_of(page.text) == "Delivery queued to be sent again now."
    webhook_delivery.deliver_due(db, SENDER)
    page = admin_web.get(path)
    assert "<strong>200</strong> in " in page.text and "status-delivered" in page.text
    assert secret and all(verify(secret, r) for r in receiver.wait_for(2))
    assert admin_web.post(f"{path}/deliveries/999999/retry", {}).status_code == 404


def test_every_webhook_form_needs_its_csrf_token(admin_web: Browsing, db: Database) -> None:
    create(admin_web, "https://example.com/hook", ["*"])
    [made] = webhook.get_list(db)
    path = f"/admin/webhooks/{made.id}"
    posts = [
        ("/admin/webhooks", {"url": "https://example.com/forged", "events": ["*"]}),
        (path, {"url": "https://example.com/forged", "events": ["*"]}),
        (f"{path}/test", {}),
        (f"{path}/delete", {"confirm": "1"}),
    ]
    for target, form in posts:
        assert admin_web.post(target, {**form, "csrf": "forged"}).status_code == 403, target
    assert [w.url for w in webhook.get_list(db)] == ["https://example.com/hook"]


def test_the_webhooks_pages_are_for_admins_only(app: Any, customer: dict[str, Any]) -> None:
    for path in ("/admin/webhooks", "/admin/webhooks/1"):
        response = TestClient(app).get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin", path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about the page
def test_in_a_browser_a_webhook_is_created_pinged_and_retried(
    new_context: Callable[..., BrowserContext], db: Database, api: Api, receiver: WebhookReceiver
) -> None:
    page = new_context(viewport={"width": 360, "height": 740}).new_page()
    log_in(page, "/admin", *ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("All events (*), including types added later").check()
    page.get_by_role("button", name="Create webhook").click()
    shown = page.locator("[data-new-secret]")
    expect(shown).to_have_text(re.compile(r"^whsec_"))
    secret = shown.inner_text()
    page.get_by_role("link", name="Open the webhook").click()
    page.get_by_role("button", name="Send test").click()
    expect(page.locator(".flash")).to_have_text("Test ping queued: it shows in the log below.")
    webhook_delivery.deliver_due(db, SENDER)  # the worker's job; the live server runs none
    page.reload()
    row = page.locator("[data-delivery]")
    expect(row.locator("[data-attempt]")).to_contain_text("200")
    expect(row).to_contain_text("webhook.test")
    assert verify(secret, receiver.wait_for(1)[0]) and secret not in page.content()
    row.get_by_role("button", name="Retry").click()
    expect(page.locator(".flash")).to_have_text("Delivery queued to be sent again now.")
    webhook_delivery.deliver_due(db, SENDER)
    page.reload()
    expect(page.locator("[data-delivery] [data-attempt]")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_text("Delete webhook…").click()
    page.get_by_role("button", name="Delete webhook").click()
    expect(page.locator(".flash")).to_have_text("Webhook deleted.")
    assert webhook.get_list(db) == []
