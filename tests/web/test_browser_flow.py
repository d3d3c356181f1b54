"""End to end in Chromium: the admin sells a key, the client orders, reveals, copies and resets
it, the admin suspends the order, and the API answers accordingly. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from keyvend.db.unit_of_work import Database
from keyvend.services import product as products
from tests.web.conftest import ADMIN, log_in

KEY_24_BY_6 = re.compile(r"^mk_[0-9a-f]{6}(-[0-9a-f]{6}){3}$")


def check(base_url: str, key: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.post(
        f"{base_url}/api/guest/serviceapikey/check", data={"key": key}
    ).json()
    return body


def admin_creates_product_with_live_preview(page: Page) -> int:
    log_in(page, "/admin", *ADMIN)
    page.get_by_role("navigation").get_by_role("link", name="Products").click()
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Title").fill("Metered API")
    page.get_by_role("button", name="Create product").click()
    expect(page.locator(".flash")).to_contain_text("Product created")
    sample = page.locator("#sample-key")
    expect(sample).to_have_text(re.compile(r"^[0-9A-F]{8}(-[0-9A-F]{8}){3}$"))
    page.get_by_label("Length", exact=True).fill("16")
    expect(sample).to_have_text(re.compile(r"^[0-9A-F]{8}-[0-9A-F]{8}$"))
    page.get_by_label("Split the key with dashes").uncheck()
    expect(sample).to_have_text(re.compile(r"^[0-9A-F]{16}$"))
    page.get_by_label("Capitalization").select_option("lower")
    page.get_by_label("Prefix (optional)").fill("mk_")
    expect(sample).to_have_text(re.compile(r"^mk_[0-9a-f]{16}$"))
    page.get_by_label("Length", exact=True).fill("10")
    expect(page.locator("#sample-error")).to_have_text(
        "length must be a whole number from 16 to 256"
    )
    page.get_by_label("Length", exact=True).fill("24")
    page.get_by_label("Split the key with dashes").check()
    page.get_by_label("Split interval").fill("6")
    expect(sample).to_have_text(KEY_24_BY_6)
    expect(page.locator("#sample-error")).to_be_hidden()
    add_parameters(page)
    page.get_by_label("Status").select_option("enabled")
    page.get_by_label("Issue the key").select_option("after_order")
    page.get_by_role("button", name="Save product").click()
    expect(page.locator(".flash")).to_have_text("Product “Metered API” saved.")
    return int(page.url.rsplit("/", 1)[1])


def add_parameters(page: Page) -> None:
    """A monthlyLimit row is added; a second row is added and deleted again."""
    page.get_by_role("button", name="Add parameter").click()
    page.get_by_label("Parameter 1 name").fill("monthlyLimit")
    page.get_by_label("Parameter 1 value").fill("250")
    page.get_by_role("button", name="Add parameter").click()
    page.get_by_label("Parameter 2 name").fill("scratch")
    page.get_by_role("button", name="Delete parameter 2").click()
    expect(page.get_by_label("Parameter 2 name")).to_have_count(0)
    expect(page.get_by_label("Parameter 1 name")).to_have_value("monthlyLimit")


def client_signs_up_and_orders(page: Page) -> str:
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill("ada-pass-123")
    page.get_by_label("Repeat password").fill("ada-pass-123")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".flash")).to_contain_text("Your account is ready")
    page.get_by_role("navigation").get_by_role("link", name="Catalogue").click()
    card = page.get_by_role("region", name="Metered API")
    expect(card.get_by_role("table", name="Custom parameters")).to_contain_text("Monthly limit")
    card.get_by_role("button", name="Add Metered API to cart").click()
    expect(page.get_by_role("heading", name="Cart")).to_be_visible()
    page.get_by_role("button", name="Place order").click()
    expect(page.locator(".flash")).to_contain_text("is active")
    return page.url


def reveal_and_copy(page: Page) -> str:
    shown = page.locator("[data-secret-value]")
    expect(shown).to_contain_text("\u2022")
    page.get_by_role("button", name="Reveal").click()
    expect(shown).to_have_text(KEY_24_BY_6)
    key = shown.inner_text()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied to the clipboard")
    assert page.evaluate("navigator.clipboard.readText()") == key
    return key


def test_admin_sells_a_key_that_the_client_orders_reveals_copies_and_resets(
    new_context: Callable[..., BrowserContext], live_server: str, api: Any, db: Database
) -> None:
    admin = new_context().new_page()
    product_id = admin_creates_product_with_live_preview(admin)
    config = products.get(db, product_id).config
    assert config["custom_monthlyLimit"] == 250 and config["prefix"] == "mk_"

    shopper = new_context().new_page()
    service_url = client_signs_up_and_orders(shopper)
    params = shopper.get_by_role("table", name="Custom parameters")
    expect(params.get_by_role("row", name="Monthly limit 250 monthlyLimit")).to_be_visible()
    old_key = reveal_and_copy(shopper)
    assert check(live_server, old_key) == {"result": True, "error": None}

    shopper.get_by_text("Reset key…").click()
    shopper.get_by_role("button", name="Reset my key").click()
    expect(shopper.locator(".flash")).to_contain_text("Your key was reset")
    new_key = reveal_and_copy(shopper)
    assert new_key != old_key

    admin.get_by_role("navigation").get_by_role("link", name="Orders").click()
    admin.get_by_role("link", name=re.compile(r"#\d+ Metered API")).click()
    admin.get_by_label("Reason for suspending (optional)").fill("Payment overdue")
    admin.get_by_role("button", name="Suspend").click()
    expect(admin.locator(".flash")).to_contain_text("Order suspended")
    expect(admin.get_by_text("Reason: Payment overdue", exact=True)).to_be_visible()

    assert check(live_server, old_key)["error"]["message"] == "API key does not exist"
    assert check(live_server, new_key) == {"result": False, "error": None}
    info = httpx.post(f"{live_server}/api/guest/serviceapikey/get_info", data={"key": new_key})
    assert info.json()["result"] == {"valid": False, "config": {"monthlyLimit": 250}}
    shopper.goto(service_url)
    expect(shopper.locator(".status").first).to_have_text("Suspended")
    expect(shopper.get_by_text("Not valid")).to_be_visible()
