"""Dashboard, clients and extensions pages, and who may open the admin panel at all."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.services import client as clients
from keyvend.services import dashboard, extension
from keyvend.services.pagination import PageRequest
from tests.conftest import Api, FakeClock
from tests.web.conftest import Browsing, alert_of, flash_of

ADMIN_PAGES = (
    "/admin/products",
    "/admin/products/new",
    "/admin/clients",
    "/admin/clients/new",
    "/admin/orders",
    "/admin/orders/new",
    "/admin/applications",
    "/admin/extensions",
    "/admin/staff",
    "/admin/account",
    "/admin/emails",
)


def test_dashboard_counts_products_clients_orders_and_active_keys(
    admin_web: Browsing, active_order: dict[str, Any], db: Database, clock: FakeClock, api: Api
) -> None:
    counts = dashboard.counts(db)
    assert (counts.products, counts.clients, counts.active_orders, counts.active_keys) == (
        1,
        1,
        1,
        1,
    )
    numbers = re.findall(r'class="number">([^<]*)<', admin_web.get("/admin").text)
    assert numbers == ["1", "1", "1", "1", "0", "0", "0", "0.00 USD", "0.00 USD", "0"]
    clock.advance(days=40)  # past the 1M period: the key no longer checks valid
    assert dashboard.counts(db).active_keys == 0
    api.admin("order/suspend", id=active_order["id"])
    assert dashboard.counts(db).suspended_orders == 1


def test_dashboard_shows_no_key_count_once_the_extension_is_uninstalled(db: Database) -> None:
    extension.uninstall(db, extension.APIKEY, confirm=True)
    assert dashboard.counts(db).active_keys is None


def test_admin_creates_searches_and_views_clients(admin_web: Browsing, db: Database) -> None:
    admin_web.get("/admin/clients/new")
    form = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.com",
        "password": "",
    }
    page = admin_web.post("/admin/clients/new", form)
    assert "Client created" in page.text and "API token" in page.text
    assert "grace@example.com" in admin_web.get("/admin/clients?search=hopp").text
    assert "grace@example.com" not in admin_web.get("/admin/clients?search=nobody").text
    grace = clients.get_list(db, search="grace", page=PageRequest(1, 5)).list[0]
    page = admin_web.get(f"/admin/clients/{grace.id}")
    assert "Grace Hopper" in page.text and "No orders yet." in page.text
    assert f'href="/admin/orders/new?client_id={grace.id}"' in page.text


def test_a_refused_client_keeps_what_was_typed(
    admin_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    admin_web.get("/admin/clients/new")
    form = {"first_name": "Jo Two", "email": customer["email"], "password": "short"}
    page = admin_web.post("/admin/clients/new", form)
    assert page.status_code == 400
    assert alert_of(page.text) == "Password must be 8 to 256 characters long"
    assert 'value="Jo Two"' in page.text
    assert clients.get_list(db, page=PageRequest(1, 10)).total == 1


def test_extensions_deactivate_activate_and_uninstall_only_when_confirmed(
    admin_web: Browsing, active_order: dict[str, Any], api: Api, db: Database
) -> None:
    page = admin_web.get("/admin/extensions")
    assert "drops the extension's table and <strong>every API key in it</strong>" in page.text
    page = admin_web.post("/admin/extensions/serviceapikey", {"action": "deactivate"})
    assert flash_of(page.text) == "Extension serviceapikey: deactivate done."
    assert api.error("guest/serviceapikey/check", key=active_order["key"])["code"] == 715
    admin_web.post("/admin/extensions/serviceapikey", {"action": "activate"})
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True
    page = admin_web.post("/admin/extensions/serviceapikey", {"action": "uninstall"})
    assert page.status_code == 400 and "send confirm=1" in (alert_of(page.text) or "")
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True
    admin_web.post("/admin/extensions/serviceapikey", {"action": "uninstall", "confirm": "1"})
    assert extension.get_list(db)[0].status == "not_installed"
    assert "extension not installed" in admin_web.get("/admin").text


def test_an_order_page_explains_an_inactive_extension(
    admin_web: Browsing, active_order: dict[str, Any], db: Database
) -> None:
    extension.deactivate(db, extension.APIKEY)
    page = admin_web.get(f"/admin/orders/{active_order['id']}")
    assert page.status_code == 200 and "Module serviceapikey is not active" in page.text


def test_admin_pages_send_everyone_else_to_the_admin_login(app: Any, client_web: Browsing) -> None:
    anonymous = TestClient(app)
    for path in ADMIN_PAGES:
        for visitor in (anonymous, client_web.client):
            response = visitor.get(path, follow_redirects=False)
            assert response.status_code == 303 and response.headers["location"] == "/admin"
    response = client_web.client.post(
        "/admin/orders/new", data={"csrf": client_web.csrf}, follow_redirects=False
    )
    assert response.headers["location"] == "/admin"


def test_every_admin_page_renders(admin_web: Browsing, active_order: dict[str, Any]) -> None:
    for path in (*ADMIN_PAGES, "/admin", f"/admin/orders/{active_order['id']}"):
        assert admin_web.get(path).status_code == 200, path
