"""Support tools in Chromium: the orders list with clients and prices, searched by email and
by a pasted key; the client page's orders, invoices and activity; Renew behind a confirmation;
a field in error marked itself; display labels in the catalogue."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from keyvend.db.unit_of_work import Database
from keyvend.services import order as orders
from tests.conftest import Api
from tests.web.conftest import ADMIN, CLIENT_PASSWORD, log_in

ERROR_RED = "rgb(180, 35, 24)"  # --err in keyvend.css


def admin_page(new_context: Callable[..., BrowserContext], **options: Any) -> Page:
    page = new_context(**options).new_page()
    log_in(page, "/admin", *ADMIN)
    return page


def search(page: Page, text: str) -> None:
    page.get_by_label("Client email or pasted key").fill(text)
    page.get_by_role("button", name="Search").click()


def listed(page: Page) -> list[str]:
    """The order links in the orders table, as their text."""
    return page.locator("tbody td:first-child a").all_inner_texts()


def test_orders_show_client_and_price_and_are_found_by_email_or_by_a_pasted_key(
    new_context: Callable[..., BrowserContext], two_orders: dict[str, Any], customer: dict[str, Any]
) -> None:
    page = admin_page(new_context)
    page.get_by_role("navigation").get_by_role("link", name="Orders").click()
    row = page.get_by_role("row").filter(has_text=f"#{two_orders['jo']} Monthly key")
    expect(row.get_by_role("link", name="Jo", exact=True)).to_have_attribute(
        "href", f"/admin/clients/{customer['id']}"
    )
    expect(row).to_contain_text("jo@example.com")
    expect(row.get_by_role("cell", name="5.00 USD / 1 month")).to_be_visible()

    search(page, "Zoe@EXAMPLE")
    expect(page).to_have_url(re.compile(r"/admin/orders\?q=Zoe%40EXAMPLE$"))
    assert listed(page) == [f"#{two_orders['zoe']} Monthly key"]

    for pasted in (two_orders["key"], two_orders["key"].lower()):
        search(page, pasted)
        expect(page.get_by_role("status")).to_have_text("The order whose key you pasted.")
        assert listed(page) == [f"#{two_orders['jo']} Monthly key"]
        assert two_orders["key"].lower() not in page.url.lower()

    wrong = two_orders["key"][:-1] + ("A" if two_orders["key"][-1] != "A" else "B")
    search(page, wrong)
    expect(page.get_by_role("status")).to_contain_text("No order has this key")
    assert listed(page) == []


def test_the_client_page_shows_orders_invoices_and_activity(
    new_context: Callable[..., BrowserContext],
    monthly_product: int,
    customer: dict[str, Any],
) -> None:
    shopper = new_context().new_page()
    log_in(shopper, "/", customer["email"], CLIENT_PASSWORD)
    shopper.goto("/products")
    shopper.get_by_role("region", name="Monthly key").get_by_role("button").click()
    shopper.get_by_role("button", name="Place order").click()
    expect(shopper.locator(".flash")).to_contain_text("Please pay this invoice")

    page = admin_page(new_context)
    page.goto(f"/admin/clients/{customer['id']}")
    placed = page.get_by_role("region", name="Orders")
    expect(placed.get_by_role("link", name="Monthly key")).to_be_visible()
    billed = page.get_by_role("region", name="Invoices")
    expect(billed.get_by_role("cell", name="5.00 USD")).to_be_visible()
    expect(billed.get_by_role("cell", name="Unpaid")).to_be_visible()
    billed.get_by_role("link", name="KV-").click()
    expect(page.get_by_role("heading", name="Invoice KV-")).to_be_visible()
    page.go_back()
    activity = page.get_by_role("region", name="Activity")
    expect(activity.get_by_text("invoice.created", exact=True)).to_be_visible()
    expect(activity.get_by_text("order.created", exact=True)).to_be_visible()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about the page
def test_renew_without_javascript_waits_for_its_confirmation(
    new_context: Callable[..., BrowserContext], two_orders: dict[str, Any], db: Database
) -> None:
    before = orders.get(db, two_orders["jo"]).expires_at
    page = admin_page(new_context, java_script_enabled=False)
    page.goto(f"/admin/orders/{two_orders['jo']}")
    confirm = page.get_by_role("button", name=f"Renew order #{two_orders['jo']}")
    expect(confirm).to_be_hidden()  # folded away until the admin asks for it
    page.get_by_text("Renew…").click()
    expect(page.get_by_text("No invoice is issued and nothing is charged")).to_be_visible()
    assert orders.get(db, two_orders["jo"]).expires_at == before
    confirm.click()
    expect(page.locator(".flash")).to_have_text("Order renewed for another period.")
    assert orders.get(db, two_orders["jo"]).expires_at > before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about the page
def test_a_field_in_error_has_a_red_border_and_its_message_beside_it(
    new_context: Callable[..., BrowserContext], api: Api
) -> None:
    pid = int(api.admin("product/prepare", title="Metered API", type="apikey"))
    page = admin_page(new_context)
    page.goto(f"/admin/products/{pid}")
    length = page.get_by_label("Length", exact=True)
    valid = page.get_by_label("Split interval")
    plain = valid.evaluate("e => getComputedStyle(e).borderTopColor")
    assert length.evaluate("e => getComputedStyle(e).borderTopColor") == plain
    length.fill("8")
    page.get_by_role("button", name="Save product").click()

    expect(length).to_have_attribute("aria-invalid", "true")
    assert length.evaluate("e => getComputedStyle(e).borderTopColor") == ERROR_RED
    assert valid.evaluate("e => getComputedStyle(e).borderTopColor") == plain != ERROR_RED
    width = "e => getComputedStyle(e).borderTopWidth"
    assert length.evaluate(width) != valid.evaluate(width)
    message_id = length.get_attribute("aria-describedby").split()[0]
    message = page.locator(f"#{message_id}")
    expect(message).to_have_text("length must be a whole number from 16 to 256")
    expect(length).to_have_accessible_description(
        "length must be a whole number from 16 to 256 Hex characters, 16 to 256; dashes and "
        "prefix not counted."
    )
    field, text = length.bounding_box(), message.bounding_box()
    assert field and text
    assert 0 <= text["y"] - (field["y"] + field["height"]) < 24  # right below the field
    assert abs(text["x"] - field["x"]) < 24
    assert message.evaluate("e => getComputedStyle(e).color") == ERROR_RED


def test_the_catalogue_shows_a_parameters_label_or_its_name_in_words(
    new_context: Callable[..., BrowserContext], api: Api, product_id: int
) -> None:
    page = admin_page(new_context)
    page.goto(f"/admin/products/{product_id}")
    expect(page.get_by_label("Parameter 1 name")).to_have_value("monthlyLimit")
    expect(page.get_by_label("Parameter 1 label")).to_have_attribute("placeholder", "Monthly limit")
    page.get_by_role("button", name="Add parameter").click()
    page.get_by_label("Parameter 2 name").fill("max_requests")
    page.get_by_label("Parameter 2 value").fill("10")
    page.get_by_role("button", name="Save product").click()
    expect(page.locator(".flash")).to_contain_text("saved")

    shopper = new_context().new_page()
    shopper.goto("/products")
    table = shopper.get_by_role("region", name="Starter").get_by_role("table")
    expect(table.get_by_role("row", name="Monthly limit 250")).to_be_visible()
    expect(table.get_by_role("row", name="Max requests 10")).to_be_visible()
    expect(table).not_to_contain_text("monthlyLimit")

    page.get_by_label("Parameter 1 label").fill("Calls a month")
    page.get_by_role("button", name="Save product").click()
    expect(page.locator(".flash")).to_contain_text("saved")
    shopper.reload()
    expect(table.get_by_role("row", name="Calls a month 250")).to_be_visible()
