"""The wire format of typed results: FOSSBilling's shapes, timestamps and money as before.

Services return schemas; the API dumps them in JSON mode. These pin the exact keys, the
`+00:00` timestamps (`datetime.isoformat`, not pydantic's `Z`) and money as two-decimal strings.
"""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Api

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


def test_an_order_has_fossbillings_fields_iso_times_and_a_price_string(
    api: Api, active_order: dict[str, Any]
) -> None:
    found = api.admin("order/get", id=active_order["id"])
    assert set(found) == {
        "id", "client_id", "product_id", "title", "type", "status", "period", "quantity",
        "price", "config", "reason", "activated_at", "expires_at", "created_at", "updated_at",
    }  # fmt: skip
    assert found["price"] == "0.00" and found["status"] == "active"
    for name in ("activated_at", "expires_at", "created_at", "updated_at"):
        assert ISO.match(found[name]), (name, found[name])
    assert found["reason"] is None


def test_a_page_is_list_total_page_per_page_pages(api: Api, active_order: dict[str, Any]) -> None:
    page = api.admin("order/get_list", per_page=1)
    assert set(page) == {"list", "total", "page", "per_page", "pages"}
    assert (page["total"], page["page"], page["per_page"], page["pages"]) == (1, 1, 1, 1)
    assert page["list"][0]["id"] == active_order["id"]


def test_the_service_of_an_order_shows_its_key_and_iso_times(
    api: Api, active_order: dict[str, Any]
) -> None:
    found = api.admin("order/service", id=active_order["id"])
    assert set(found) == {
        "id",
        "order_id",
        "api_key",
        "valid",
        "config",
        "created_at",
        "updated_at",
        "previous_key_until",
    }
    assert found["api_key"] == active_order["key"] and found["valid"] is True
    assert found["previous_key_until"] is None  # no reset with overlap running
    assert ISO.match(found["created_at"]) and ISO.match(found["updated_at"])


def test_products_clients_and_extensions_keep_their_shapes(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    product = api.admin("product/get", id=product_id)
    assert set(product) == {
        "id", "title", "description", "type", "status", "setup", "pricing", "config",
        "created_at", "updated_at",
    }  # fmt: skip
    assert (product["status"], product["setup"]) == ("enabled", "after_order")
    offer = api.guest("product/get", id=product_id)
    assert set(offer) == {"id", "title", "description", "type", "pricing", "params", "labels"}
    assert offer["params"] == {"monthlyLimit": 250}
    assert offer["labels"] == {"monthlyLimit": "Monthly limit"}
    found = api.admin("client/get", id=customer["id"])
    assert set(found) == {
        "id", "email", "first_name", "last_name", "company", "address_1", "city", "postcode",
        "country", "status", "created_at", "updated_at",
    }  # fmt: skip
    assert found["status"] == "active" and ISO.match(found["created_at"])
    assert api.admin("extension/get_list") == [
        {
            "id": "serviceapikey",
            "name": "serviceapikey",
            "type": "mod",
            "version": "1.0.0",
            "description": "API Key product type: sell API keys and verify them",
            "status": "active",
        }
    ]


def test_cart_and_checkout_carry_money_as_two_decimal_strings(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    api.admin(
        "product/update",
        id=product_id,
        pricing={"type": "recurrent", "recurrent": {"1M": {"price": "9.5", "enabled": True}}},
    )
    auth = customer["auth"]
    assert api.ok("guest/cart/add_item", auth=auth, id=product_id, period="1M", quantity=2)
    cart = api.ok("guest/cart/get", auth=auth)
    assert cart["total"] == "19.00"
    assert cart["items"][0] == {
        "id": 1,
        "product_id": product_id,
        "title": "Starter",
        "period": "1M",
        "quantity": 2,
        "available": True,
        "price": "9.50",
        "total": "19.00",
    }
    placed = api.ok("client/cart/checkout", auth=auth)
    assert placed == {
        "order_id": placed["order_id"],
        "orders": [placed["order_id"]],
        "activated": [placed["order_id"]],
        "total": "19.00",
        "currency": "USD",
        "invoice_id": placed["invoice_id"],
        "invoice_hash": placed["invoice_hash"],
        "payment": None,
    }
    assert isinstance(placed["invoice_id"], int)
    assert len(placed["invoice_hash"]) >= 32
    assert api.admin("order/get", id=placed["order_id"])["price"] == "19.00"
