"""End to end in Chromium: a client orders a paid product whose key comes after payment,
sees the invoice, chooses bank transfer and reads the instructions; the admin marks the
invoice paid in the admin panel; the key appears on the client's service page. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import ADMIN, CLIENT_PASSWORD, log_in


def client_orders_and_chooses_bank_transfer(page: Page) -> str:
    """Order "Pro key" from the catalogue, then pay its invoice by bank transfer."""
    page.get_by_role("navigation").get_by_role("link", name="Catalogue").click()
    page.get_by_role("region", name="Pro key").get_by_role("button", name="Add Pro key").click()
    expect(page.get_by_role("cell", name="19.00 USD").first).to_be_visible()
    page.get_by_role("button", name="Place order").click()
    expect(page.locator(".flash")).to_contain_text("Please pay this invoice")
    heading = page.get_by_role("heading", name=re.compile(r"^Invoice KV-\d{5}$"))
    expect(heading).to_be_visible()
    number = heading.inner_text().removeprefix("Invoice ")
    expect(page.locator(".invoice .status")).to_have_text("Unpaid")
    page.get_by_role("button", name="Pay with Bank transfer").click()
    instructions = page.get_by_role("status").filter(has_text="Bank transfer instructions")
    expect(instructions).to_contain_text("Please transfer 19.00 USD")
    expect(instructions).to_contain_text(f"quote invoice {number} as the payment reference")
    return number


def invoice_prints_alone(page: Page, number: str) -> None:
    """Printed, the invoice page is the document: no navigation, buttons or forms."""
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Pay with Bank transfer")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    page.emulate_media(media="screen")


def client_sees_the_service_waiting(page: Page, number: str) -> str:
    page.get_by_role("navigation").get_by_role("link", name="My services").click()
    page.get_by_role("link", name="Pro key").click()
    expect(page.get_by_text("This order waits for payment")).to_be_visible()
    expect(page.get_by_role("link", name=number).first).to_be_visible()
    expect(page.locator("[data-secret-value]")).to_have_count(0)
    return page.url


def admin_marks_the_invoice_paid(page: Page, number: str) -> None:
    log_in(page, "/admin", *ADMIN)
    page.get_by_role("navigation").get_by_role("link", name="Invoices").click()
    page.get_by_label("Status").select_option("unpaid")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    page.get_by_label("Transaction id (optional)").fill("BANK-2026-001")
    page.get_by_label("Note (optional)").fill("Received by transfer")
    page.get_by_role("button", name="Mark paid").click()
    expect(page.locator(".flash")).to_have_text("Invoice marked paid.")
    expect(page.locator(".invoice .status")).to_have_text("Paid")
    transactions = page.get_by_role("table", name="Transactions")
    expect(transactions).to_contain_text("BANK-2026-001")
    expect(transactions).to_contain_text("Received by transfer")


def test_a_client_pays_by_bank_transfer_and_gets_the_key_once_the_admin_marks_it_paid(
    new_context: Callable[..., BrowserContext],
    live_server: str,
    paid_product: int,
    customer: dict[str, Any],
) -> None:
    shopper = new_context().new_page()
    log_in(shopper, "/", customer["email"], CLIENT_PASSWORD)
    number = client_orders_and_chooses_bank_transfer(shopper)
    invoice_prints_alone(shopper, number)
    service_url = client_sees_the_service_waiting(shopper, number)

    admin_marks_the_invoice_paid(new_context().new_page(), number)

    shopper.goto(service_url)
    expect(shopper.get_by_text("This order waits for payment")).to_have_count(0)
    expect(shopper.locator(".status").first).to_have_text("Active")
    shopper.get_by_role("button", name="Reveal").click()
    shown = shopper.locator("[data-secret-value]")
    expect(shown).to_have_text(re.compile(r"^[0-9A-F]{8}(-[0-9A-F]{8}){3}$"))
    check = httpx.post(
        f"{live_server}/api/guest/serviceapikey/check", data={"key": shown.inner_text()}
    )
    assert check.json() == {"result": True, "error": None}
    shopper.get_by_role("navigation").get_by_role("link", name="Invoices").click()
    row = shopper.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("Paid")
