"""The shop currency (KEYVEND_CURRENCY) with every price on every page, with its own decimals:
a yen shop shows `1900 JPY`, never `1900.00` or a bare number."""

from __future__ import annotations

from typing import Any

import pytest

from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.services import invoice
from tests.web.conftest import Browsing, id_in_path, sell

PRICE = "1900 JPY"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"currency": "JPY"})


@pytest.fixture
def yen_product(api: Any) -> int:
    pricing = {"type": "recurrent", "recurrent": {"1M": {"price": "1900", "enabled": True}}}
    return sell(api, setup="after_payment", pricing=pricing, title="Yen key")


def test_every_page_shows_prices_in_the_shop_currency(
    client_web: Browsing, admin_web: Browsing, yen_product: int, db: Database
) -> None:
    catalogue = client_web.get("/products")
    assert f"{PRICE} / 1 month" in catalogue.text and f"1 month: {PRICE}" in catalogue.text
    client_web.post("/cart/add", {"product_id": str(yen_product), "period": "1M"})
    cart = client_web.get("/cart")
    assert cart.text.count(PRICE) == 2  # the item and the total
    page = client_web.post("/checkout", {})
    found = invoice.get(db, id_in_path(page))
    order_id = found.items[0].order_id
    assert found.currency == "JPY" and found.total == "1900"
    client_pages = (
        f"/invoices/{found.id}",
        "/invoices",
        f"/services/{order_id}",
        f"/invoice/{found.hash}",
    )
    admin_pages = (
        "/admin/products",
        f"/admin/orders/{order_id}",
        "/admin/invoices",
        f"/admin/invoices/{found.id}",
    )
    pages = [client_web.get(p) for p in client_pages] + [admin_web.get(p) for p in admin_pages]
    for shown in pages:
        assert PRICE in shown.text and "1900.00" not in shown.text, shown.url
    assert (
        "Please transfer 1900 JPY"
        in client_web.post(f"/invoices/{found.id}/pay", {"gateway": "bank_transfer"}).text
    )
    dashboard = admin_web.get("/admin").text
    assert '<span class="number">0 JPY</span> revenue this month' in dashboard
    assert f'<span class="number">{PRICE}</span> unpaid' in dashboard
    edit = admin_web.get(f"/admin/products/{yen_product}").text
    assert "Price (JPY)" in edit and "One-off price (JPY)" in edit
