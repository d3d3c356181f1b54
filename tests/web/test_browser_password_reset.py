"""End to end in Chromium: a client who forgot their password asks for a link, opens the one
the mail carries (delivered from the outbox to a real SMTP server, aiosmtpd), sets a new
password and logs in with it. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, expect

from keyvend.adapters.mail import SmtpMailer
from keyvend.db.unit_of_work import Database
from keyvend.services import email
from tests.support.smtp_server import SmtpServer
from tests.web.conftest import CLIENT_PASSWORD, log_in


def delivered_link(db: Database, recipient: str, path: str) -> str:
    """Deliver the outbox to a real SMTP server; the reset link of the mail `recipient` got."""
    with SmtpServer() as smtp:
        email.deliver_due(db, SmtpMailer.from_url(smtp.url, "shop@example.com"))
        smtp.wait_for(1)
        [mail] = [m for m in smtp.to(recipient) if "reset" in str(m.message["Subject"]).lower()]
    found = re.search(rf"{re.escape(path)}\?token=[A-Za-z0-9_-]+", mail.text)
    assert found, mail.text
    return found.group(0)


def test_a_client_resets_a_forgotten_password_through_the_mailed_link(
    new_context: Callable[..., BrowserContext], customer: dict[str, Any], db: Database
) -> None:
    page = new_context().new_page()
    page.goto("/")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.get_by_label("Email").fill(customer["email"])
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator(".flash")).to_have_text(
        "If that email is registered, a reset link is on its way."
    )

    page.goto(delivered_link(db, customer["email"], "/password-reset"))
    page.get_by_label("New password", exact=True).fill("jo-fresh-pass-1")
    page.get_by_label("Repeat new password").fill("jo-fresh-pass-2")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_have_text("The two passwords do not match")
    page.get_by_label("New password", exact=True).fill("jo-fresh-pass-1")
    page.get_by_label("Repeat new password").fill("jo-fresh-pass-1")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator(".flash")).to_have_text("Your new password is set. Log in with it.")

    page.get_by_label("Email").fill(customer["email"])
    page.get_by_label("Password", exact=True).fill(CLIENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Please check your login details")
    log_in(page, "/", customer["email"], "jo-fresh-pass-1")
    expect(page.get_by_role("heading", name="My services")).to_be_visible()
