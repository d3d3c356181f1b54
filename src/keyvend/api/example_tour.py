"""The documented examples that are run for real: the README's tour as one sequence of calls.

Each call's request and answer are shown on `/docs` and in `/openapi.json`. They run in this
order on a fresh server (tests/api/test_openapi_examples.py runs the curl commands against one
and compares every answer's shape with the one written here), so the ids are those a fresh
database gives: product 1, client 1, order 1. `$KEY`, `$CLIENT_TOKEN` and `$APP_TOKEN` are
shell variables that earlier answers set (`sets`).
"""

from __future__ import annotations

from typing import Any

TIME = "2026-01-15T12:00:00.000000+00:00"
LATER = "2026-02-15T12:00:00.000000+00:00"
KEY = "sk_9F3A41C2-6D0B8E57-A1C3F920-4B7E1D65"
CONFIG = {
    "length": 32,
    "split": True,
    "split_interval": 8,
    "case": "upper",
    "prefix": "sk_",
    "custom_monthlyLimit": 250,
}
PRODUCT = {
    "id": 1,
    "title": "Starter API",
    "description": "",
    "type": "apikey",
    "status": "enabled",
    "setup": "after_order",
    "pricing": {"type": "free"},
    "config": CONFIG,
    "created_at": TIME,
    "updated_at": TIME,
}
CLIENT = {
    "id": 1,
    "email": "jo@example.com",
    "first_name": "Jo",
    "last_name": "",
    "company": "",
    "address_1": "",
    "city": "",
    "postcode": "",
    "country": "",
    "status": "active",
    "created_at": TIME,
    "updated_at": TIME,
}
ORDER = {
    "id": 1,
    "client_id": 1,
    "product_id": 1,
    "title": "Starter API",
    "type": "apikey",
    "status": "active",
    "period": "1M",
    "quantity": 1,
    "price": "0.00",
    "config": CONFIG,
    "reason": None,
    "activated_at": TIME,
    "expires_at": LATER,
    "created_at": TIME,
    "updated_at": TIME,
}


def page(*items: Any, per_page: int = 100) -> dict[str, Any]:
    return {"list": list(items), "total": len(items), "page": 1, "per_page": per_page, "pages": 1}


# (role/module/method, params, answer, shell variables the answer sets: name -> field or "")
TOUR: list[tuple[str, dict[str, Any], Any, dict[str, str]]] = [
    ("admin/product/prepare", {"title": "Starter API", "type": "apikey"}, 1, {}),
    ("admin/product/update_config", {"id": 1, "config": CONFIG}, True, {}),
    ("admin/product/update", {"id": 1, "status": "enabled", "setup": "after_order"}, True, {}),
    ("admin/product/get", {"id": 1}, PRODUCT, {}),
    (
        "guest/product/get_list",
        {},
        page(
            {
                **{k: PRODUCT[k] for k in ("id", "title", "description", "type", "pricing")},
                "params": {"monthlyLimit": 250},
                "labels": {"monthlyLimit": "Monthly limit"},
            }
        ),
        {},
    ),
    (
        "admin/client/create",
        {"email": "jo@example.com", "first_name": "Jo", "password": "correct-horse-battery"},
        1,
        {},
    ),
    (
        "admin/client/api_key_reset",
        {"id": 1},
        "dLYi7-eV-of_8VozTe5z-hRECtU8cYrcW_7DgcYY54o",
        {"CLIENT_TOKEN": ""},
    ),
    (
        "admin/order/create",
        {"client_id": 1, "product_id": 1, "period": "1M", "activate": True},
        1,
        {},
    ),
    (
        "admin/order/service",
        {"id": 1},
        {
            "id": 1,
            "config": CONFIG,
            "order_id": 1,
            "api_key": KEY,
            "valid": True,
            "created_at": TIME,
            "updated_at": TIME,
            "previous_key_until": None,
        },
        {"KEY": "api_key"},
    ),
    ("guest/serviceapikey/check", {"key": "$KEY"}, True, {}),
    (
        "guest/serviceapikey/get_info",
        {"key": "$KEY"},
        {"valid": True, "config": {"monthlyLimit": 250}},
        {},
    ),
    (
        "guest/serviceapikey/verify",
        {"key": "$KEY"},
        {
            "valid": True,
            "code": "VALID",
            "config": {"monthlyLimit": 250},
            "expires_at": LATER,
            "quota": None,
        },
        {},
    ),
    (
        "admin/application/create",
        {"name": "Weather API"},
        {"id": 1, "token": "kva_1nvwR_C8WtwDHss_wQlWkkA1SdOpFmiTqoBzhHcizt0"},
        {"APP_TOKEN": "token"},
    ),
    ("admin/order/get", {"id": 1}, ORDER, {}),
    ("admin/order/get_list", {}, page(ORDER), {}),
    ("client/order/get_list", {}, page(ORDER), {}),
    ("client/profile/get", {}, CLIENT, {}),
    (
        "guest/client/login",
        {"email": "jo@example.com", "password": "correct-horse-battery"},
        {**CLIENT, "csrf_token": "nqNIsqgOrFcUzWlWb_U-cIreasNM03JPC_23Dc4u7Yw"},
        {},
    ),
    ("admin/serviceapikey/update", {"order_id": 1, "valid": True}, True, {}),
    (
        "client/serviceapikey/usage",
        {"order_id": 1, "days": 2},
        {
            "order_id": 1,
            "days": 2,
            "last_used_at": TIME,
            "total": 3,
            "outcomes": {"VALID": 3},
            "daily": [
                {"date": "2026-01-14", "total": 0, "outcomes": {}},
                {"date": "2026-01-15", "total": 3, "outcomes": {"VALID": 3}},
            ],
        },
        {},
    ),
    ("admin/serviceapikey/reset", {"order_id": 1}, True, {}),
    (
        "admin/activity/get_list",
        {"per_page": 1},
        {
            **page(
                {
                    "seq": 12,
                    "at": TIME,
                    "type": "key.reset",
                    "actor": "admin:1",
                    "client_id": 1,
                    "order_id": 1,
                    "invoice_id": None,
                    "data": {"overlap": 0},
                },
                per_page=1,
            ),
            "total": 12,
            "pages": 12,
        },
        {},
    ),
]
