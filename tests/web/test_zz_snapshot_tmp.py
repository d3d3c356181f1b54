"""TEMPORARY: dump rendered pages for a before/after comparison (deleted after the refactor)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.web.conftest import Browsing

OUT = Path(os.environ.get("KV_SNAP", "/tmp/kvsnap/x"))


def norm(html: str) -> str:
    html = re.sub(r'name="csrf" value="[^"]*"', 'name="csrf" value="CSRF"', html)
    html = re.sub(r"[0-9A-Fa-f]{4,}(-[0-9A-Fa-f]{2,})+", "KEY", html)
    html = re.sub(r"\b[0-9A-Fa-f]{16,}\b", "KEY", html)
    return html


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_dump_pages(
    admin_web: Browsing, client_web: Browsing, app: Any, active_order: dict[str, Any],
    product_id: int, database_url: str,
) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    oid = active_order["id"]
    pages = {
        "admin_home": (admin_web, "GET", "/admin", None),
        "product_edit": (admin_web, "GET", f"/admin/products/{product_id}", None),
        "product_new": (admin_web, "GET", "/admin/products/new", None),
        "product_save_bad": (admin_web, "POST", f"/admin/products/{product_id}",
                             {"title": 'a"<b>&', "status": "enabled", "setup": "manual",
                              "length": "9", "split_interval": '"x', "prefix": '"><i>',
                              "param_name": ["a b", "a b"], "param_value": ["1", "2"]}),
        "product_add_row": (admin_web, "POST", f"/admin/products/{product_id}",
                            {"title": "T", "action": "add_param", "pricing_type": "recurrent"}),
        "client_new": (admin_web, "GET", "/admin/clients/new", None),
        "client_new_bad": (admin_web, "POST", "/admin/clients/new",
                           {"email": 'x"y', "first_name": "<b>"}),
        "order_new": (admin_web, "GET", "/admin/orders/new", None),
        "order_new_bad": (admin_web, "POST", "/admin/orders/new", {"period": '"9Z'}),
        "order": (admin_web, "GET", f"/admin/orders/{oid}", None),
        "order_key_bad": (admin_web, "POST", f"/admin/orders/{oid}/key",
                          {"length": "3", "prefix": "&&"}),
        "orders": (admin_web, "GET", "/admin/orders", None),
        "products": (admin_web, "GET", "/admin/products", None),
        "clients": (admin_web, "GET", "/admin/clients", None),
        "extensions": (admin_web, "GET", "/admin/extensions", None),
        "notfound": (admin_web, "GET", "/admin/orders/999999", None),
        "client_home": (client_web, "GET", "/", None),
        "catalogue": (client_web, "GET", "/products", None),
        "cart": (client_web, "GET", "/cart", None),
        "service": (client_web, "GET", f"/services/{oid}", None),
        "account": (client_web, "GET", "/account", None),
    }
    for name, (who, method, path, data) in pages.items():
        r = who.get(path) if method == "GET" else who.post(path, data)
        (OUT / f"{name}.html").write_text(f"{r.status_code}\n{norm(r.text)}")
    anon = Browsing(TestClient(app))
    for name, path in {"login": "/", "admin_login": "/admin", "signup": "/signup",
                       "docs": "/docs"}.items():
        r = anon.get(path)
        (OUT / f"{name}.html").write_text(f"{r.status_code}\n{norm(r.text)}")
    r = anon.post("/login", {"email": '"><script>x', "password": "nope"})
    (OUT / "login_bad.html").write_text(f"{r.status_code}\n{norm(r.text)}")
    r = anon.post("/signup", {"email": "q@example.com", "first_name": '"a', "password": "x"})
    (OUT / "signup_bad.html").write_text(f"{r.status_code}\n{norm(r.text)}")
    r = anon.post("/login", {"csrf": None, "email": "a"})
    (OUT / "csrf_bad.html").write_text(f"{r.status_code}\n{norm(r.text)}")
