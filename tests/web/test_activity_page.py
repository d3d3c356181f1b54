"""The activity log page (`/admin/activity`) and the history on the admin order and client
pages: filters, paging, links to who made each change; one check in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from keyvend.db.unit_of_work import Database
from tests.conftest import Api, FakeClock
from tests.web.conftest import ADMIN, Browsing, alert_of, log_in

ROW = re.compile(r"<tr>\s*<td>[^<]*</td>\s*<td><code>([a-z_.]+)</code>")


def types_on(html: str) -> list[str]:
    """The event types of a page's history table, top to bottom."""
    return ROW.findall(html)


@pytest.fixture
def story(api: Api, clock: FakeClock, customer: dict[str, Any], product_id: int) -> dict[str, Any]:
    """An order made on 15 Jan, suspended on 16 Jan; a second client made on 16 Jan."""
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id, activate=True)
    clock.advance(days=1)
    api.admin("order/suspend", id=oid, reason="payment overdue")
    other = api.admin("client/create", email="zed@example.com", first_name="Zed")
    return {"order": oid, "other": other, "admin": api.admin("profile/get")["id"]}


def test_the_log_lists_every_change_with_links_to_who_made_it(
    admin_web: Browsing, story: dict[str, Any], customer: dict[str, Any]
) -> None:
    page = admin_web.get("/admin/activity")
    assert page.status_code == 200
    assert '<a href="/admin/activity" aria-current="page">Activity</a>' in page.text
    shown = types_on(page.text)
    assert shown[:3] == ["client.created", "order.suspended", "order.activated"]
    assert f'<a href="/admin/staff/{story["admin"]}">admin:{story["admin"]}</a>' in page.text
    order, client = story["order"], customer["id"]
    assert f'href="/admin/orders/{order}" aria-label="Order #{order}">#{order}</a>' in page.text
    assert (
        f'href="/admin/clients/{client}" aria-label="Client #{client}">#{client}</a>' in page.text
    )
    assert "reason: payment overdue" in page.text


def test_the_log_filters_by_type_client_order_and_dates(
    admin_web: Browsing, story: dict[str, Any], customer: dict[str, Any]
) -> None:
    page = admin_web.get("/admin/activity?type=order.")
    assert set(types_on(page.text)) == {"order.created", "order.activated", "order.suspended"}
    assert '<option value="order." selected>' in page.text
    page = admin_web.get(f"/admin/activity?client_id={story['other']}")
    assert types_on(page.text) == ["client.created"]
    page = admin_web.get(f"/admin/activity?order_id={story['order']}&type=order.suspended")
    assert types_on(page.text) == ["order.suspended"]
    page = admin_web.get("/admin/activity?type=order.&to=2026-01-15")  # the day included
    assert types_on(page.text) == ["order.activated", "order.created"]
    page = admin_web.get("/admin/activity?type=order.&from=2026-01-16&to=2026-01-16")
    assert types_on(page.text) == ["order.suspended"]
    page = admin_web.get("/admin/activity?from=2026-02-01")
    assert "No events match these filters." in page.text


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=yesterday", "from"), ("to=2026-02-30", "to"), ("client_id=abc", "client_id")],
)
def test_a_bad_filter_is_refused_at_its_field(
    admin_web: Browsing, story: dict[str, Any], query: str, field: str
) -> None:
    page = admin_web.get(f"/admin/activity?{query}")
    assert page.status_code == 400
    assert alert_of(page.text)
    assert re.search(rf'<input [^>]*name="{field}"[^>]*aria-invalid="true"', page.text)


def test_the_log_is_paged_keeping_its_filters(
    api: Api, admin_web: Browsing, customer: dict[str, Any]
) -> None:
    for number in range(55):
        api.admin("client/update", id=customer["id"], first_name=f"Jo{number}")
    page = admin_web.get(f"/admin/activity?client_id={customer['id']}")
    assert len(types_on(page.text)) == 50 and "Page 1 of 2" in page.text
    assert f'href="/admin/activity?client_id={customer["id"]}&amp;page=2"' in page.text
    second = admin_web.get(f"/admin/activity?client_id={customer['id']}&page=2")
    assert types_on(second.text) == ["client.updated"] * 5 + ["client.created"]


def test_the_order_page_shows_the_orders_history(
    admin_web: Browsing, story: dict[str, Any]
) -> None:
    page = admin_web.get(f"/admin/orders/{story['order']}")
    assert page.status_code == 200 and '<h2 id="history-title">History</h2>' in page.text
    assert types_on(page.text) == ["order.suspended", "order.activated", "order.created"]
    assert f'href="/admin/activity?order_id={story["order"]}"' in page.text


def test_the_client_page_shows_the_clients_history(
    admin_web: Browsing, story: dict[str, Any], customer: dict[str, Any], db: Database
) -> None:
    page = admin_web.get(f"/admin/clients/{customer['id']}")
    assert page.status_code == 200 and '<h2 id="history-title">Activity</h2>' in page.text
    assert types_on(page.text) == [
        "order.suspended",
        "order.activated",
        "order.created",
        "client.created",
    ]
    fresh = admin_web.get(f"/admin/clients/{story['other']}")
    assert types_on(fresh.text) == ["client.created"]


def test_an_admin_filters_the_log_in_a_browser(
    new_context: Callable[..., BrowserContext], story: dict[str, Any]
) -> None:
    admin = new_context().new_page()
    log_in(admin, "/admin", *ADMIN)
    admin.get_by_role("link", name="Activity").click()
    expect(admin.get_by_role("heading", name="Activity")).to_be_visible()
    admin.get_by_label("Event").select_option("order.suspended")
    admin.get_by_role("button", name="Filter").click()
    rows = admin.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("reason: payment overdue")
    rows.first.get_by_role("link", name=f"Order #{story['order']}").click()
    expect(
        admin.get_by_role("heading", name=re.compile(f"Order #{story['order']}"))
    ).to_be_visible()
    expect(admin.locator("#history-title")).to_be_visible()
