"""The admin product pages without JavaScript: create, the full edit form, the sample key."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.services import product as products
from keyvend.services.pagination import PageRequest
from tests.web.conftest import Browsing, alert_of, flash_of

SAVE = {
    "title": "Metered API",
    "description": "Up to 250 calls a month.",
    "status": "enabled",
    "setup": "after_order",
    "pricing_type": "free",
    "length": "24",
    "split": "1",
    "split_interval": "6",
    "case": "lower",
    "prefix": "mk_",
    "param_name": ["monthly limit", "tier"],
    "param_value": ["250", "pro"],
    "action": "save",
}


def _new_product(admin_web: Browsing, title: str = "Metered API") -> int:
    admin_web.get("/admin/products/new")
    page = admin_web.post("/admin/products/new", {"title": title, "type": "apikey"})
    assert page.status_code == 200, page.text
    assert flash_of(page.text) == (
        "Product created. It starts disabled and free: set it up, then enable it."
    )
    return int(page.url.path.rsplit("/", 1)[1])


def test_saving_the_product_form_stores_every_part(admin_web: Browsing, db: Database) -> None:
    pid = _new_product(admin_web)
    page = admin_web.post(f"/admin/products/{pid}", SAVE)
    assert flash_of(page.text) == "Product “Metered API” saved."
    saved = products.get(db, pid)
    assert saved.status == "enabled" and saved.setup == "after_order"
    assert saved.description == "Up to 250 calls a month."
    assert saved.config == {
        "length": 24,
        "split": True,
        "split_interval": 6,
        "case": "lower",
        "prefix": "mk_",
        "custom_monthlyLimit": 250,
        "custom_tier": "pro",
    }
    sample = re.search(r'id="sample-key"[^>]*>([^<]*)<', page.text)
    assert sample and re.fullmatch(r"mk_[0-9a-f]{6}(-[0-9a-f]{6}){3}", sample.group(1))


def test_recurrent_pricing_is_saved_from_the_period_rows(admin_web: Browsing, db: Database) -> None:
    pid = _new_product(admin_web)
    periods = ["1W", "1M", "3M", "6M", "1Y", "2Y", "3Y"]
    prices = ["", "9.50", "", "", "90", "", ""]
    form = {
        **SAVE,
        "pricing_type": "recurrent",
        "period": periods,
        "period_price": prices,
        "period_enabled": ["1M", "1Y"],
    }
    admin_web.post(f"/admin/products/{pid}", form)
    assert products.get(db, pid).pricing == {
        "type": "recurrent",
        "recurrent": {
            "1M": {"price": "9.50", "enabled": True},
            "1Y": {"price": "90.00", "enabled": True},
        },
    }
    page = admin_web.get(f"/admin/products/{pid}")
    assert 'id="period-on-1M" name="period_enabled" value="1M" checked' in page.text


def test_a_refused_form_keeps_what_was_typed_and_saves_nothing(
    admin_web: Browsing, db: Database
) -> None:
    pid = _new_product(admin_web, "Original")
    before = products.get(db, pid)
    page = admin_web.post(f"/admin/products/{pid}", {**SAVE, "title": "Renamed", "length": "8"})
    assert page.status_code == 400
    assert alert_of(page.text) == "length must be a whole number from 16 to 256"
    assert 'value="Renamed"' in page.text and 'value="mk_"' in page.text
    assert 'value="monthly limit"' in page.text and 'id="f-length" name="length"' in page.text
    assert 'aria-invalid="true"' in page.text
    assert products.get(db, pid) == before


def test_bad_pricing_after_a_valid_config_saves_nothing(admin_web: Browsing, db: Database) -> None:
    pid = _new_product(admin_web)
    before = products.get(db, pid)
    form = {**SAVE, "pricing_type": "recurrent", "period": ["1M"], "period_price": ["5"]}
    page = admin_web.post(f"/admin/products/{pid}", form)
    assert alert_of(page.text) == "pricing recurrent needs at least one enabled period"
    assert products.get(db, pid) == before


def test_repeated_parameter_names_are_refused(admin_web: Browsing, db: Database) -> None:
    pid = _new_product(admin_web)
    form = {**SAVE, "param_name": ["monthlyLimit", "monthly limit"], "param_value": ["1", "2"]}
    page = admin_web.post(f"/admin/products/{pid}", form)
    assert alert_of(page.text) == "custom parameter monthlyLimit appears twice"
    assert products.get(db, pid).status == "disabled"


def test_add_and_delete_parameter_rows_without_javascript_save_nothing(
    admin_web: Browsing, db: Database
) -> None:
    pid = _new_product(admin_web)
    page = admin_web.post(f"/admin/products/{pid}", {**SAVE, "action": "add_param"})
    assert page.text.count('name="param_name"') == 3 + 1  # two rows, a blank one, the template
    assert 'for="param-name-2">Parameter 3 name' in page.text
    page = admin_web.post(f"/admin/products/{pid}", {**SAVE, "delete_param": "0"})
    assert 'value="monthly limit"' not in page.text and 'value="tier"' in page.text
    assert products.get(db, pid).status == "disabled"


def test_the_sample_endpoint_follows_the_settings(admin_web: Browsing) -> None:
    query = "length=20&split=1&split_interval=5&case=upper&prefix=sk_"
    body = admin_web.client.get(f"/admin/products/sample?{query}").json()
    assert body["error"] is None
    assert re.fullmatch(r"sk_[0-9A-F]{5}(-[0-9A-F]{5}){3}", body["sample"])
    body = admin_web.client.get("/admin/products/sample?length=20&prefix=no-dash").json()
    assert body == {
        "sample": None,
        "error": "prefix must be at most 16 letters, digits or underscores",
        "limits": None,
    }


def test_the_sample_endpoint_is_for_admins_only(app: Any) -> None:
    response = TestClient(app).get("/admin/products/sample?length=20", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin"


def test_product_list_searches_by_title(admin_web: Browsing) -> None:
    _new_product(admin_web, "Alpha keys")
    _new_product(admin_web, "Beta keys")
    page = admin_web.get("/admin/products?search=alpha&status=")
    assert "Alpha keys" in page.text and "Beta keys" not in page.text


def test_deleting_a_product_needs_confirmation(admin_web: Browsing, db: Database) -> None:
    pid = _new_product(admin_web)
    page = admin_web.post(f"/admin/products/{pid}/delete", {})
    assert page.status_code == 400 and alert_of(page.text) == "Confirm the deletion first."
    page = admin_web.post(f"/admin/products/{pid}/delete", {"confirm": "1"})
    assert flash_of(page.text) == "Product deleted."
    assert products.get_list(db, page=PageRequest(1, 10)).total == 0


def test_an_empty_title_is_refused_on_create(admin_web: Browsing) -> None:
    admin_web.get("/admin/products/new")
    page = admin_web.post("/admin/products/new", {"title": "  ", "type": "apikey"})
    assert page.status_code == 400 and alert_of(page.text) == "Title is required"
