"""In Chromium: the forms work with JavaScript off, pages fit a phone, and the README's
screenshots are taken (into docs/ when KEYVEND_SCREENSHOT_DIR names it).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from keyvend.db.unit_of_work import Database
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductUpdate
from keyvend.services import order as orders
from keyvend.services import product as products
from tests.web.conftest import ADMIN, CLIENT_PASSWORD, log_in

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1100, "height": 640}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """These checks are about the browser, so SQLite is enough (the flow test runs on both)."""
    return sqlite_url


@pytest.fixture
def shop(db: Database, product_id: int, customer: dict[str, Any]) -> dict[str, Any]:
    """A realistic product (prefix, two parameters, monthly and yearly prices) and its order."""
    config = {**products.get(db, product_id).config, "prefix": "sk_live_", "custom_tier": "pro"}
    pricing = {
        "type": "recurrent",
        "recurrent": {
            "1M": {"price": "9", "enabled": True},
            "1Y": {"price": "90", "enabled": True},
        },
    }
    products.save(
        db,
        product_id,
        config=config,
        changes=ProductUpdate(
            pricing=pricing, title="Metered API", description="250 calls a month, pro tier."
        ),
    )
    order_id = orders.create(
        db, OrderCreate(client_id=customer["id"], product_id=product_id, period="1M", activate=True)
    )
    return {
        "product_id": product_id,
        "id": order_id,
        "key": orders.service(db, order_id).api_key,
    }


def admin_and_client(
    new_context: Callable[..., BrowserContext], customer: dict[str, Any], **options: Any
) -> tuple[Page, Page]:
    admin, client = new_context(**options).new_page(), new_context(**options).new_page()
    log_in(admin, "/admin", *ADMIN)
    log_in(client, "/", customer["email"], CLIENT_PASSWORD)
    return admin, client


def test_admin_and_client_forms_work_without_javascript(
    new_context: Callable[..., BrowserContext],
    customer: dict[str, Any],
    shop: dict[str, Any],
    db: Database,
) -> None:
    admin, client = admin_and_client(new_context, customer, java_script_enabled=False)
    admin.goto(f"/admin/products/{shop['product_id']}")
    admin.get_by_label("Length", exact=True).fill("16")
    admin.get_by_role("button", name="Update sample").click()
    expect(admin.locator("#sample-key")).to_have_text(
        re.compile(r"^sk_live_[0-9A-F]{8}-[0-9A-F]{8}$")
    )
    assert products.get(db, shop["product_id"]).config["length"] == 32  # nothing saved yet
    admin.get_by_role("button", name="Add parameter").click()
    admin.get_by_label("Parameter 3 name").fill("burst limit")
    admin.get_by_label("Parameter 3 value").fill("10")
    admin.get_by_role("button", name="Delete parameter 2").click()
    admin.get_by_role("button", name="Save product").click()
    expect(admin.locator(".flash")).to_contain_text("saved")
    config = products.get(db, shop["product_id"]).config
    assert config["length"] == 16 and config["custom_burstLimit"] == 10
    assert "custom_tier" not in config

    client.goto(f"/services/{shop['id']}")
    expect(client.get_by_role("button", name="Copy")).to_be_hidden()
    client.get_by_role("button", name="Reveal").click()
    expect(client.locator("[data-secret-value]")).to_have_text(shop["key"])


def test_pages_fit_a_phone_screen(
    new_context: Callable[..., BrowserContext], customer: dict[str, Any], shop: dict[str, Any]
) -> None:
    admin, client = admin_and_client(new_context, customer, viewport=PHONE)
    pages = [
        (admin, p)
        for p in (
            "/admin",
            f"/admin/products/{shop['product_id']}",
            f"/admin/orders/{shop['id']}",
            "/admin/extensions",
        )
    ]
    pages += [(client, p) for p in ("/", "/products", f"/services/{shop['id']}", "/account")]
    for page, path in pages:
        page.goto(path)
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide"


def test_screenshots_of_the_product_form_the_order_page_and_the_key_page(
    new_context: Callable[..., BrowserContext],
    customer: dict[str, Any],
    shop: dict[str, Any],
    tmp_path: Path,
) -> None:
    admin, client = admin_and_client(new_context, customer, viewport=DESKTOP)
    admin.goto(f"/admin/products/{shop['product_id']}")
    admin.get_by_label("Capitalization").select_option("mixed")
    expect(admin.locator("#sample-key")).to_have_text(re.compile(r"^sk_live_.*[a-f].*$"))
    shots = {"product-form.png": admin}
    admin.screenshot(path=tmp_path / "product-form.png", full_page=True)
    admin.goto(f"/admin/orders/{shop['id']}")
    admin.screenshot(path=tmp_path / "order-page.png", full_page=True)
    shots["order-page.png"] = admin
    client.goto(f"/services/{shop['id']}")
    client.get_by_text("How to check a key").click()
    client.get_by_role("button", name="Copy").click()
    expect(client.locator("[data-copy-status]")).to_have_text("Copied to the clipboard")
    client.screenshot(path=tmp_path / "client-key.png", full_page=True)
    client.set_viewport_size(PHONE)
    client.screenshot(path=tmp_path / "client-key-phone.png", full_page=True)
    names = [*shots, "client-key.png", "client-key-phone.png"]
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("KEYVEND_SCREENSHOT_DIR")
    if target:  # `KEYVEND_SCREENSHOT_DIR=docs pytest tests/web -k screenshots` refreshes docs/
        for name in names:
            shutil.copyfile(tmp_path / name, Path(target) / name)
