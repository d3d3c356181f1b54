"""Usage on the pages: a 30-day chart with the last use and the total on the client's service
page and the admin's order page, and today's checks and most used keys on the dashboard."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from keyvend.db.unit_of_work import Database
from keyvend.services import usage
from tests.conftest import Api, FakeClock
from tests.web.conftest import ADMIN, CLIENT_PASSWORD, Browsing, log_in

PHONE = {"width": 360, "height": 740}


def use(api: Api, db: Database, key: str, times: int) -> None:
    """Check the key `times` times and flush the tally, as the server does every few seconds."""
    for _ in range(times):
        assert api.guest("serviceapikey/check", key=key) is True
    usage.flush(db)


def usage_section(html: str) -> str:
    found = re.search(r'<section class="card wide usage".*?</section>', html, re.S)
    assert found, "the page has no usage section"
    return found.group(0)


def fact(section: str, term: str) -> str:
    found = re.search(rf"<dt>{re.escape(term)}</dt><dd[^>]*>([^<]*)</dd>", section)
    assert found, f"no {term!r} in {section}"
    return found.group(1)


def test_both_order_pages_show_the_last_use_the_total_and_the_chart(
    admin_web: Browsing,
    client_web: Browsing,
    active_order: dict[str, Any],
    api: Api,
    db: Database,
    clock: FakeClock,
) -> None:
    oid, key = active_order["id"], active_order["key"]
    for path, web in ((f"/admin/orders/{oid}", admin_web), (f"/services/{oid}", client_web)):
        section = usage_section(web.get(path).text)
        assert fact(section, "Last used") == "never"
        assert fact(section, "Checks, last 30 days") == "0"
    use(api, db, key, 2)
    clock.advance(days=1)
    use(api, db, key, 3)
    for path, web in ((f"/admin/orders/{oid}", admin_web), (f"/services/{oid}", client_web)):
        section = usage_section(web.get(path).text)
        assert fact(section, "Last used") == "16 Jan 2026, 12:00 UTC"
        assert fact(section, "Checks, last 30 days") == "5"
        assert fact(section, "Answers") == "5 valid"
        assert section.count("<svg") == 1 and 'role="img"' in section
        assert section.count('class="usage-day"') == 30


def test_an_order_without_a_key_has_no_usage_section(
    admin_web: Browsing, customer: dict[str, Any], product_id: int, api: Api
) -> None:
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id)
    page = admin_web.get(f"/admin/orders/{oid}")
    assert page.status_code == 200 and 'class="card wide usage"' not in page.text


def test_the_dashboard_shows_checks_today_and_the_most_used_keys(
    admin_web: Browsing,
    active_order: dict[str, Any],
    customer: dict[str, Any],
    api: Api,
    db: Database,
    clock: FakeClock,
) -> None:
    page = admin_web.get("/admin").text
    assert re.search(r'data-checks-today><span class="number">0</span> checks today', page)
    assert "No key was checked today." in page
    use(api, db, active_order["key"], 2)
    clock.advance(days=1)
    use(api, db, active_order["key"], 4)
    page = admin_web.get("/admin").text
    assert re.search(r'data-checks-today><span class="number">4</span> checks today', page)
    row = re.search(r"<tr><td><a href=\"/admin/orders/(\d+)\">.*?</tr>", page.split("Most used")[1])
    assert row and int(row.group(1)) == active_order["id"]
    assert customer["email"] in row.group(0) and "<td>4</td>" in row.group(0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about the pages
def test_on_a_phone_the_chart_is_an_svg_that_fits_and_the_dashboard_counts_today(
    new_context: Callable[..., BrowserContext],
    customer: dict[str, Any],
    active_order: dict[str, Any],
    api: Api,
    db: Database,
) -> None:
    oid = active_order["id"]
    use(api, db, active_order["key"], 3)
    admin = new_context(viewport=PHONE).new_page()
    client = new_context(viewport=PHONE).new_page()
    log_in(admin, "/admin", *ADMIN)
    log_in(client, "/", customer["email"], CLIENT_PASSWORD)
    for page, path in ((client, f"/services/{oid}"), (admin, f"/admin/orders/{oid}")):
        page.goto(path)
        chart = page.get_by_role("img", name=re.compile(r"3 checks in 30 days"))
        expect(chart).to_be_visible()
        assert chart.evaluate("node => node.tagName.toLowerCase()") == "svg"
        box = chart.bounding_box()
        assert box and 0 < box["width"] <= PHONE["width"] and box["height"] > 50
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide"
    admin.goto("/admin")
    expect(admin.locator("[data-checks-today] .number")).to_have_text("3")
    expect(admin.get_by_role("row", name=re.compile(r"Starter .* 3$"))).to_be_visible()
