"""The client area without JavaScript: catalogue, cart and checkout, my keys, my API token."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.services import order as orders
from tests.conftest import Api
from tests.web.conftest import Browsing, alert_of, flash_of


def _order(client_web: Browsing, product_id: int) -> int:
    client_web.get("/products")
    page = client_web.post("/cart/add", {"product_id": str(product_id)})
    assert page.url.path == "/cart" and "Starter" in page.text
    page = client_web.post("/checkout", {})
    order_id = int(page.url.path.rsplit("/", 1)[1])
    assert flash_of(page.text) == f"Order #{order_id} is active. Here is your API key."
    return order_id


def test_catalogue_lists_enabled_products_with_their_parameters(
    client_web: Browsing, product_id: int, api: Api
) -> None:
    hidden = api.admin("product/prepare", title="Hidden draft", type="apikey")
    page = client_web.get("/products")
    assert "Starter" in page.text and "Hidden draft" not in page.text
    assert '<th scope="row">Monthly limit</th><td>250</td>' in page.text
    assert f'name="product_id" value="{product_id}"' in page.text
    assert f'value="{hidden}"' not in page.text


def test_anonymous_visitors_see_the_catalogue_but_no_order_button(
    app: Any, product_id: int
) -> None:
    page = Browsing(TestClient(app)).get("/products")
    assert "Starter" in page.text and "/cart/add" not in page.text
    assert "to order" in page.text


def test_ordering_shows_the_masked_key_and_its_parameters(
    client_web: Browsing, product_id: int, db: Database, api: Api
) -> None:
    order_id = _order(client_web, product_id)
    key = orders.service(db, order_id).api_key
    page = client_web.get(f"/services/{order_id}")
    assert key not in page.text and key[-4:] in page.text
    assert (
        '<th scope="row">Monthly limit</th><td>250</td><td><code>monthlyLimit</code>' in page.text
    )
    assert "Valid" in page.text and api.guest("serviceapikey/check", key=key) is True
    home = client_web.get("/")
    assert f'href="/services/{order_id}"' in home.text and "Active" in home.text


def test_reveal_without_javascript_renders_the_key(
    client_web: Browsing, product_id: int, db: Database
) -> None:
    order_id = _order(client_web, product_id)
    page = client_web.post(f"/services/{order_id}/reveal", {})
    key = orders.service(db, order_id).api_key
    assert f">{key}</code>" in page.text and page.headers["cache-control"] == "no-store"
    as_json = client_web.post(
        f"/services/{order_id}/reveal", {}, headers={"Accept": "application/json"}
    )
    assert as_json.json() == {"key": key}


def test_reset_needs_confirmation_then_replaces_the_key(
    client_web: Browsing, product_id: int, db: Database, api: Api
) -> None:
    order_id = _order(client_web, product_id)
    old_key = orders.service(db, order_id).api_key
    assert client_web.post(f"/services/{order_id}/reset", {}).status_code == 400
    page = client_web.post(f"/services/{order_id}/reset", {"confirm": "1"})
    assert flash_of(page.text) == "Your key was reset. The old key no longer works."
    assert api.error("guest/serviceapikey/check", key=old_key)["message"] == (
        "API key does not exist"
    )
    assert api.guest("serviceapikey/check", key=orders.service(db, order_id).api_key) is True


def test_a_client_never_sees_or_resets_another_clients_key(
    client_web: Browsing, active_order: dict[str, Any], other_client: int, app: Any, api: Api
) -> None:
    intruder = Browsing(TestClient(app))
    intruder.login("/login", "zoe@example.com", "zoe-pass-123")
    oid = active_order["id"]
    assert intruder.get(f"/services/{oid}").status_code == 404
    assert intruder.post(f"/services/{oid}/reveal", {}).status_code == 404
    assert intruder.post(f"/services/{oid}/reset", {"confirm": "1"}).status_code == 404
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True


def test_a_reset_without_the_csrf_token_is_refused(
    client_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    page = client_web.post(
        f"/services/{active_order['id']}/reset", {"confirm": "1", "csrf": "forged"}
    )
    assert page.status_code == 403
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True


def test_checkout_of_an_empty_cart_explains_itself(client_web: Browsing) -> None:
    client_web.get("/cart")
    page = client_web.post("/checkout", {})
    assert page.status_code == 400 and alert_of(page.text) == "Your cart is empty"


def test_items_can_be_removed_from_the_cart(client_web: Browsing, product_id: int) -> None:
    client_web.get("/products")
    client_web.post("/cart/add", {"product_id": str(product_id)})
    page = client_web.post("/cart/remove", {"item": "1"})
    assert flash_of(page.text) == "Removed from your cart." and "Your cart is empty." in page.text


def test_api_token_is_shown_once_after_a_confirmed_reset(
    client_web: Browsing, customer: dict[str, Any], api: Api
) -> None:
    page = client_web.get("/account")
    assert customer["email"] in page.text
    assert client_web.post("/account/token", {}).status_code == 400
    page = client_web.post("/account/token", {"confirm": "1"})
    token = re.search(r"curl -u client:(\S+) ", page.text)
    assert token and page.headers["cache-control"] == "no-store"
    assert api.ok("client/profile/get", auth=("client", token.group(1)))["id"] == customer["id"]
    assert api.call("client/profile/get", auth=customer["auth"])[0] == 401


def test_client_pages_send_anonymous_visitors_to_the_login_form(app: Any) -> None:
    for path in ("/cart", "/account", "/services/1"):
        response = TestClient(app).get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/", path
