"""Support tools in the admin panel, without JavaScript: the orders list with clients and
prices, searched by email or by a pasted key (never put in a URL); the client page's orders,
invoices and activity; display labels of custom parameters in the forms and client pages."""

from __future__ import annotations

import re
from typing import Any

from keyvend.db.unit_of_work import Database
from keyvend.services import product as products
from tests.conftest import Api
from tests.web.conftest import Browsing, alert_of, checkout, field_error

KEY_FORM = {
    "action": "save",
    "length": "32",
    "split": "1",
    "split_interval": "8",
    "case": "upper",
    "prefix": "",
}


def order_links(html: str) -> list[int]:
    """The orders a page's table links to, in order."""
    return [int(i) for i in re.findall(r'<td><a href="/admin/orders/(\d+)">', html)]


def test_the_list_shows_each_orders_client_linked_with_name_and_email_and_its_price(
    admin_web: Browsing, two_orders: dict[str, Any], customer: dict[str, Any]
) -> None:
    page = admin_web.get("/admin/orders")
    assert order_links(page.text) == [two_orders["zoe"], two_orders["jo"]]
    jo_row = re.search(
        rf'<tr>\s*<td><a href="/admin/orders/{two_orders["jo"]}">.*?</tr>', page.text, re.S
    )
    assert jo_row
    row = jo_row.group(0)
    assert f'<a href="/admin/clients/{customer["id"]}">Jo</a>' in row
    assert "jo@example.com" in row and "5.00 USD" in row and "1 month" in row
    assert f'<a href="/admin/clients/{two_orders["zoe_id"]}">Zoe Quinn</a>' in page.text


def test_an_email_search_goes_to_the_lists_address_and_finds_that_clients_orders(
    admin_web: Browsing, two_orders: dict[str, Any]
) -> None:
    admin_web.get("/admin/orders")
    sent = admin_web.post(
        "/admin/orders/search", {"q": "ZOE@example", "status": ""}, follow_redirects=False
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/admin/orders?q=ZOE%40example"
    page = admin_web.get(sent.headers["location"])
    assert order_links(page.text) == [two_orders["zoe"]]
    assert 'value="ZOE@example"' in page.text
    nothing = admin_web.get("/admin/orders?q=nobody%40")
    assert order_links(nothing.text) == []
    assert "No orders of clients whose email contains “nobody@”." in nothing.text


def test_a_pasted_key_is_answered_in_place_and_never_put_in_a_link(
    admin_web: Browsing, two_orders: dict[str, Any]
) -> None:
    key = two_orders["key"]
    for pasted in (key, key.lower(), f"  {key.lower()} "):
        admin_web.get("/admin/orders")
        page = admin_web.post("/admin/orders/search", {"q": pasted, "status": ""})
        assert page.status_code == 200 and page.url.path == "/admin/orders/search"
        assert order_links(page.text) == [two_orders["jo"]]
        assert "The order whose key you pasted." in page.text
        links = " ".join(re.findall(r'href="([^"]*)"', page.text)).lower()
        assert key.lower() not in links and key.lower().replace("-", "") not in links


def test_a_wrong_key_shows_no_order(admin_web: Browsing, two_orders: dict[str, Any]) -> None:
    key = two_orders["key"]
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    admin_web.get("/admin/orders")
    page = admin_web.post("/admin/orders/search", {"q": wrong, "status": ""})
    assert order_links(page.text) == []
    assert "No order has this key" in page.text


def test_a_key_search_keeps_the_status_filter(
    admin_web: Browsing, two_orders: dict[str, Any]
) -> None:
    admin_web.get("/admin/orders")
    page = admin_web.post("/admin/orders/search", {"q": two_orders["key"], "status": "canceled"})
    assert order_links(page.text) == []
    assert '<option value="canceled" selected>' in page.text


def test_the_client_page_has_sections_for_orders_invoices_and_activity(
    admin_web: Browsing, client_web: Browsing, monthly_product: int, customer: dict[str, Any]
) -> None:
    placed = checkout(client_web, monthly_product, "1M")
    invoice_id = int(placed.url.path.rsplit("/", 1)[1])
    page = admin_web.get(f"/admin/clients/{customer['id']}").text
    orders = page[page.index('id="orders-title"') : page.index('id="invoices-title"')]
    invoices = page[page.index('id="invoices-title"') : page.index('id="history-title"')]
    activity = page[page.index('id="history-title"') :]
    assert len(order_links(orders)) == 1 and "5.00 USD" in orders
    assert re.search(rf'<a href="/admin/invoices/{invoice_id}">KV-\d{{5}}</a>', invoices)
    assert "Unpaid" in invoices and "5.00 USD" in invoices
    assert '<th scope="col">Client</th>' not in invoices  # it is this client's page
    assert "<code>order.created</code>" in activity and "<code>invoice.created</code>" in activity
    assert f'href="/admin/activity?client_id={customer["id"]}"' in activity


def test_a_client_without_orders_says_so_in_each_section(
    admin_web: Browsing, other_client: int
) -> None:
    page = admin_web.get(f"/admin/clients/{other_client}").text
    assert "No orders yet." in page and "No invoices for this client yet." in page


def test_a_label_typed_in_the_product_form_is_stored_next_to_its_parameter(
    admin_web: Browsing, product_id: int, db: Database
) -> None:
    admin_web.get(f"/admin/products/{product_id}")
    form = {
        **KEY_FORM,
        "title": "Starter",
        "status": "enabled",
        "setup": "after_order",
        "pricing_type": "free",
        "param_name": ["monthlyLimit", "max requests"],
        "param_value": ["250", "10"],
        "param_label": ["Calls a month", ""],
    }
    page = admin_web.post(f"/admin/products/{product_id}", form)
    assert page.status_code == 200, alert_of(page.text)
    config = products.get(db, product_id).config
    assert config["label_monthlyLimit"] == "Calls a month" and "label_maxRequests" not in config
    assert 'name="param_label" value="Calls a month"' in page.text
    assert 'placeholder="Max requests"' in page.text  # what customers read without a label


def test_a_label_too_long_is_marked_at_its_own_row_and_nothing_is_saved(
    admin_web: Browsing, product_id: int, db: Database
) -> None:
    before = products.get(db, product_id).config
    admin_web.get(f"/admin/products/{product_id}")
    form = {
        **KEY_FORM,
        "title": "Starter",
        "status": "enabled",
        "setup": "after_order",
        "pricing_type": "free",
        "param_name": ["region", "monthlyLimit"],
        "param_value": ["eu", "250"],
        "param_label": ["", "x" * 65],
    }
    page = admin_web.post(f"/admin/products/{product_id}", form)
    assert page.status_code == 400
    message = "label_monthlyLimit must be a text of at most 64 characters on one line"
    assert field_error(page.text, "param_label") == message
    marked = re.findall(r'<input id="(param-label-\d)"[^>]*aria-invalid="true"', page.text)
    assert marked == ["param-label-1"]
    assert products.get(db, product_id).config == before


def test_the_service_page_shows_each_parameter_under_its_label_and_its_get_info_name(
    client_web: Browsing, api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    config = {
        "custom_monthlyLimit": 250,
        "label_monthlyLimit": "Calls a month",
        "custom_max_rps": 5,
    }
    api.admin("product/update_config", id=product_id, config=config)
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id, activate=True)
    page = client_web.get(f"/services/{oid}").text
    assert (
        '<th scope="row">Calls a month</th><td>250</td><td><code>monthlyLimit</code></td>' in page
    )
    assert '<th scope="row">Max rps</th><td>5</td><td><code>max_rps</code></td>' in page
    catalogue = client_web.get("/products").text
    assert '<th scope="row">Calls a month</th><td>250</td>' in catalogue
    assert "monthlyLimit" not in catalogue
