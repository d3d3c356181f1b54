"""The cart: anonymous and client carts, and a checkout that is all or nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Api

KEY_FORMAT = re.compile(r"[0-9A-F]{8}(-[0-9A-F]{8}){3}")


def paid_product(api: Api, *, setup: str, price: str = "10.00", title: str = "Paid") -> int:
    """An enabled apikey product sold once at `price` with the given setup."""
    pid = api.admin("product/prepare", title=title, type="apikey")
    api.admin(
        "product/update",
        id=pid,
        status="enabled",
        setup=setup,
        pricing={"type": "once", "once": {"price": price}},
    )
    return int(pid)


def monthly_product(api: Api) -> int:
    """An enabled after_order apikey product at 5.00 a month or 50.00 a year."""
    pid = api.admin("product/prepare", title="Monthly", type="apikey")
    api.admin(
        "product/update",
        id=pid,
        status="enabled",
        setup="after_order",
        pricing={"type": "recurrent", "recurrent": {"1M": "5", "1Y": "50"}},
    )
    return int(pid)


def checkout(api: Api, customer: dict[str, Any]) -> dict[str, Any]:
    return dict(api.ok("client/cart/checkout", auth=customer["auth"]))


def order_count(api: Api) -> int:
    return int(api.admin("order/get_list")["total"])


def test_an_anonymous_visitor_gets_a_cart_cookie_and_sees_their_items(
    api: Api, product_id: int
) -> None:
    response = api.client.post("/api/guest/cart/add_item", json={"id": product_id})
    assert response.json() == {"result": True, "error": None}
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("keyvend_cart=")
    )
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    cart = api.guest("cart/get")
    assert cart == {
        "items": [
            {
                "id": 1,
                "product_id": product_id,
                "title": "Starter",
                "period": None,
                "quantity": 1,
                "available": True,
                "price": "0.00",
                "total": "0.00",
            }
        ],
        "total": "0.00",
        "currency": "USD",
    }


def test_a_visitor_without_a_cart_cookie_has_an_empty_cart(api: Api) -> None:
    assert api.guest("cart/get") == {"items": [], "total": "0.00", "currency": "USD"}
    assert api.guest("cart/reset") is True
    assert "keyvend_cart" not in api.client.cookies


def test_the_cart_prices_items_by_period_and_quantity(api: Api) -> None:
    pid = monthly_product(api)
    api.guest("cart/add_item", id=pid, period="1Y", quantity=2)
    api.guest("cart/add_item", id=pid, period="1m")
    cart = api.guest("cart/get")
    assert [(i["period"], i["price"], i["total"]) for i in cart["items"]] == [
        ("1Y", "50.00", "100.00"),
        ("1M", "5.00", "5.00"),
    ]
    assert cart["total"] == "105.00"


@pytest.mark.parametrize(
    ("period", "words"),
    [
        (None, "period is required for a recurrent product"),
        ("3M", "period 3M is not offered for this product (offered: 1M, 1Y)"),
        ("13X", "period must be 1-90D"),
    ],
)
def test_add_item_refuses_a_period_the_product_does_not_offer(
    api: Api, period: str | None, words: str
) -> None:
    pid = monthly_product(api)
    params = {"id": pid} if period is None else {"id": pid, "period": period}
    assert words in api.error("guest/cart/add_item", **params)["message"]
    assert api.guest("cart/get")["items"] == []


def test_add_item_refuses_disabled_and_unknown_products(api: Api) -> None:
    hidden = api.admin("product/prepare", title="Hidden", type="apikey")
    for pid in (hidden, 987654):
        error = api.error("guest/cart/add_item", id=pid)
        assert error == {"message": "Product not found", "code": 9999}
    assert api.guest("cart/get")["items"] == []


def test_remove_item_takes_out_the_numbered_item_and_reset_empties_the_cart(
    api: Api, product_id: int
) -> None:
    pid = monthly_product(api)
    api.guest("cart/add_item", id=product_id)
    api.guest("cart/add_item", id=pid, period="1M")
    assert api.guest("cart/remove_item", id=1) is True
    assert [i["product_id"] for i in api.guest("cart/get")["items"]] == [pid]
    assert api.error("guest/cart/remove_item", id=2)["message"] == "Cart item not found"
    assert api.guest("cart/reset") is True
    assert api.guest("cart/get") == {"items": [], "total": "0.00", "currency": "USD"}


def test_a_client_calling_with_basic_auth_uses_their_own_cart_not_the_cookie_cart(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    api.guest("cart/add_item", id=product_id)
    assert api.ok("guest/cart/get", auth=customer["auth"])["items"] == []
    assert api.ok("guest/cart/add_item", auth=customer["auth"], id=product_id) is True
    assert len(api.ok("guest/cart/get", auth=customer["auth"])["items"]) == 1
    assert api.ok("guest/cart/reset", auth=customer["auth"]) is True
    assert api.ok("guest/cart/get", auth=customer["auth"])["items"] == []
    assert len(api.guest("cart/get")["items"]) == 1


def test_logging_in_moves_the_anonymous_cart_into_the_clients_cart(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    api.guest("cart/add_item", id=product_id)
    api.guest("client/login", email=customer["email"], password="jo-pass-123")
    items = api.ok("guest/cart/get", auth=customer["auth"])["items"]
    assert [i["product_id"] for i in items] == [product_id]


def test_checkout_of_a_free_product_activates_it_at_once_with_a_working_key(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    api.ok("guest/cart/add_item", auth=customer["auth"], id=product_id)
    result = checkout(api, customer)
    order_id = result["order_id"]
    assert result["orders"] == [order_id]
    assert result["activated"] == [order_id]
    assert result["total"] == "0.00"
    order = api.ok("client/order/get", auth=customer["auth"], id=order_id)
    assert order["status"] == "active"
    key = api.ok("client/order/service", auth=customer["auth"], id=order_id)["api_key"]
    assert KEY_FORMAT.fullmatch(key)
    assert api.guest("serviceapikey/check", key=key) is True
    assert api.ok("guest/cart/get", auth=customer["auth"])["items"] == []


def test_checkout_of_a_paid_after_order_product_activates_it_at_once(
    api: Api, customer: dict[str, Any]
) -> None:
    pid = monthly_product(api)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid, period="1M")
    result = checkout(api, customer)
    assert result["activated"] == [result["order_id"]]
    assert result["total"] == "5.00"
    order = api.admin("order/get", id=result["order_id"])
    assert (order["status"], order["period"]) == ("active", "1M")
    assert order["expires_at"] is not None
    key = api.admin("order/service", id=result["order_id"])["api_key"]
    assert api.guest("serviceapikey/check", key=key) is True


@pytest.mark.parametrize("setup", ["after_payment", "manual"])
def test_checkout_of_a_paid_product_set_up_later_leaves_it_pending_without_a_key(
    api: Api, customer: dict[str, Any], setup: str
) -> None:
    pid = paid_product(api, setup=setup)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid)
    result = checkout(api, customer)
    assert result["activated"] == []
    assert result["total"] == "10.00"
    order = api.admin("order/get", id=result["order_id"])
    assert order["status"] == "pending_setup"
    error = api.error("client/order/service", auth=customer["auth"], id=result["order_id"])
    assert "no API key yet" in error["message"]


def test_a_free_product_activates_at_checkout_even_with_manual_setup(
    api: Api, customer: dict[str, Any]
) -> None:
    pid = paid_product(api, setup="manual", price="0")
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid)
    result = checkout(api, customer)
    assert result["activated"] == [result["order_id"]]


def test_checkout_creates_one_order_per_item_and_adds_up_the_total(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    paid = paid_product(api, setup="after_payment")
    api.ok("guest/cart/add_item", auth=customer["auth"], id=product_id)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=paid, quantity=3)
    result = checkout(api, customer)
    assert len(result["orders"]) == 2
    assert result["order_id"] == result["orders"][0]
    assert result["activated"] == [result["orders"][0]]
    assert result["total"] == "30.00"
    listed = api.ok("client/order/get_list", auth=customer["auth"])
    assert sorted(o["id"] for o in listed["list"]) == sorted(result["orders"])


def test_checkout_of_an_empty_cart_is_refused(api: Api, customer: dict[str, Any]) -> None:
    error = api.error("client/cart/checkout", auth=customer["auth"])
    assert error == {"message": "Your cart is empty", "code": 9999}
    assert order_count(api) == 0


def test_checkout_needs_a_logged_in_client(api: Api, product_id: int) -> None:
    api.guest("cart/add_item", id=product_id)
    response = api.client.post("/api/client/cart/checkout")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 202
    assert order_count(api) == 0


def test_checkout_is_all_or_nothing_when_a_product_was_disabled_meanwhile(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    later = paid_product(api, setup="after_order", title="Later")
    api.ok("guest/cart/add_item", auth=customer["auth"], id=product_id)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=later)
    api.admin("product/update", id=later, status="disabled")
    error = api.error("client/cart/checkout", auth=customer["auth"])
    assert error == {"message": "Product not found", "code": 9999}
    assert order_count(api) == 0
    assert api.ok("client/order/get_list", auth=customer["auth"])["total"] == 0
    items = api.ok("guest/cart/get", auth=customer["auth"])["items"]
    assert [i["product_id"] for i in items] == [product_id, later]


def test_checkout_is_all_or_nothing_when_a_period_is_no_longer_offered(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    pid = monthly_product(api)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=product_id)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid, period="1Y")
    api.admin("product/update", id=pid, pricing={"type": "recurrent", "recurrent": {"1M": "5"}})
    error = api.error("client/cart/checkout", auth=customer["auth"])
    assert "period 1Y is not offered" in error["message"]
    assert order_count(api) == 0


def test_an_item_whose_period_was_withdrawn_stays_visible_but_cannot_be_checked_out(
    api: Api, customer: dict[str, Any]
) -> None:
    pid = api.admin("product/prepare", title="Yearly", type="apikey")
    pricing = {"type": "recurrent", "recurrent": {"1M": {"price": "5"}, "1Y": {"price": "50"}}}
    api.admin("product/update", id=pid, status="enabled", pricing=pricing)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid, period="1Y")
    api.admin("product/update", id=pid, pricing={"type": "recurrent", "recurrent": {"1M": "5"}})
    cart = api.ok("guest/cart/get", auth=customer["auth"])
    assert cart["items"][0]["available"] is False
    assert cart["items"][0]["price"] is None
    assert cart["total"] == "0.00"
    error = api.error("client/cart/checkout", auth=customer["auth"])
    assert "1Y is not offered" in error["message"]
