"""The quota fields of the product form and the order page's key settings: quota (empty =
unlimited), quota period and rate limit, saved as key config, refused at the field in error,
and put in words beside the sample key, with JavaScript and without."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from keyvend.db.unit_of_work import Database
from keyvend.services import product as products
from keyvend.services import serviceapikey
from keyvend.web.product_form import (
    KeyFields,
    config_from_fields,
    key_fields_from_config,
    limits_sentence,
)
from tests.conftest import Api
from tests.web.conftest import ADMIN, Browsing, alert_of, flash_of, log_in

FORM = {
    "title": "Metered API",
    "description": "",
    "status": "enabled",
    "setup": "after_order",
    "pricing_type": "free",
    "length": "32",
    "split": "1",
    "split_interval": "8",
    "case": "upper",
    "prefix": "",
    "action": "save",
}
LIMITS = re.compile(r'<p id="sample-limits"[^>]*>([^<]*)</p>')


def limits_of(html: str) -> str | None:
    found = LIMITS.search(html)
    return found.group(1) if found else None


def marked(html: str, name: str) -> bool:
    """Whether the form field `name` is the one marked in error."""
    tag = re.search(rf'<(?:input|select) [^>]*name="{name}"[^>]*>', html)
    return bool(tag and 'aria-invalid="true"' in tag.group(0))


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        ({}, "Unlimited verifications."),
        ({"quota": 250, "quota_period": "month"}, "250 verifications per month."),
        ({"quota": 1, "quota_period": "total"}, "1 verification in total."),
        (
            {"quota": 5000, "quota_period": "period", "rate_limit": "10/second"},
            "5,000 verifications per billing period, at most 10 per second.",
        ),
        ({"rate_limit": "100/5 minutes"}, "Unlimited verifications, at most 100 per 5 minutes."),
        ({"quota": 0, "quota_period": "day"}, "0 verifications per day."),
    ],
)
def test_limits_are_put_in_words(limits: dict[str, Any], words: str) -> None:
    assert limits_sentence(limits) == words


def test_quota_fields_round_trip_and_an_empty_quota_means_unlimited() -> None:
    fields = KeyFields(quota="250", quota_period="day", rate_limit="10/second")
    config = config_from_fields(fields)
    assert (config["quota"], config["quota_period"], config["rate_limit"]) == (
        "250",
        "day",
        "10/second",
    )
    stored = {**config, "quota": 250}
    again = key_fields_from_config(stored)
    assert (again.quota, again.quota_period, again.rate_limit) == ("250", "day", "10/second")
    unlimited = config_from_fields(KeyFields(quota="", quota_period="day"))
    assert "quota" not in unlimited and "quota_period" not in unlimited
    assert KeyFields(rate_limit="often").limits_summary is None


def new_product(web: Browsing) -> int:
    web.get("/admin/products/new")
    page = web.post("/admin/products/new", {"title": "Metered API", "type": "apikey"})
    return int(page.url.path.rsplit("/", 1)[1])


def test_the_product_form_saves_the_quota_period_and_rate_limit(
    admin_web: Browsing, db: Database
) -> None:
    pid = new_product(admin_web)
    page = admin_web.get(f"/admin/products/{pid}")
    assert limits_of(page.text) == "Unlimited verifications."
    form = {**FORM, "quota": "250", "quota_period": "month", "rate_limit": "10/second"}
    page = admin_web.post(f"/admin/products/{pid}", form)
    assert flash_of(page.text) == "Product “Metered API” saved."
    config = products.get(db, pid).config
    assert (config["quota"], config["quota_period"], config["rate_limit"]) == (
        250,
        "month",
        "10/second",
    )
    assert limits_of(page.text) == "250 verifications per month, at most 10 per second."
    assert 'name="quota" type="number" value="250"' in page.text
    assert '<option value="month" selected>' in page.text
    page = admin_web.post(f"/admin/products/{pid}", {**form, "quota": "", "rate_limit": ""})
    config = products.get(db, pid).config
    assert "quota" not in config and "rate_limit" not in config
    assert limits_of(page.text) == "Unlimited verifications."


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"rate_limit": "ten a second"},
            "rate_limit",
            "rate_limit must be in limits notation, such as 10/second or 1000/hour",
        ),
        ({"quota": "-1"}, "quota", "quota must be a whole number from 0 to 1000000000000000"),
        (
            {"quota": "5", "quota_period": "week"},
            "quota_period",
            "quota_period must be one of day, month, period or total",
        ),
    ],
)
def test_a_bad_limit_is_refused_at_its_field_and_nothing_is_saved(
    admin_web: Browsing, db: Database, changes: dict[str, str], field: str, message: str
) -> None:
    pid = new_product(admin_web)
    admin_web.get(f"/admin/products/{pid}")
    page = admin_web.post(f"/admin/products/{pid}", {**FORM, "title": "Changed", **changes})
    assert page.status_code == 400 and alert_of(page.text) == message
    assert marked(page.text, field)
    assert all(not marked(page.text, other) for other in {"quota", "rate_limit"} - {field})
    assert f'value="{next(iter(changes.values()))}"' in page.text or field == "quota_period"
    assert products.get(db, pid).title == "Metered API"  # nothing saved


def test_preview_without_javascript_puts_the_limits_in_words(admin_web: Browsing) -> None:
    pid = new_product(admin_web)
    admin_web.get(f"/admin/products/{pid}")
    form = {**FORM, "quota": "1000", "quota_period": "day", "action": "preview"}
    page = admin_web.post(f"/admin/products/{pid}", form)
    assert page.status_code == 200 and limits_of(page.text) == "1,000 verifications per day."


def test_the_sample_endpoint_puts_the_limits_in_words(admin_web: Browsing) -> None:
    query = "length=20&quota=250&quota_period=month&rate_limit=10/second"
    body = admin_web.client.get(f"/admin/products/sample?{query}").json()
    assert body["limits"] == "250 verifications per month, at most 10 per second."
    body = admin_web.client.get("/admin/products/sample?length=20&rate_limit=often").json()
    assert body["limits"] is None and body["error"].startswith("rate_limit must be")


def test_an_orders_key_settings_take_a_quota_too(
    admin_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    oid = active_order["id"]
    admin_web.get(f"/admin/orders/{oid}")
    form = {k: FORM[k] for k in ("length", "split", "split_interval", "case", "prefix")}
    form.update(valid="1", action="save", quota="3", quota_period="total", rate_limit="bad")
    page = admin_web.post(f"/admin/orders/{oid}/key", form)
    assert page.status_code == 400 and marked(page.text, "rate_limit")
    page = admin_web.post(f"/admin/orders/{oid}/key", {**form, "rate_limit": "2/second"})
    assert flash_of(page.text) == "Key settings saved; the key is enabled."
    assert limits_of(page.text) == "3 verifications in total, at most 2 per second."
    result = serviceapikey.get_info(api.client.app.state.db, active_order["key"])
    assert result["valid"] is True
    config = api.admin("order/service", id=oid)["config"]
    assert (config["quota"], config["quota_period"], config["rate_limit"]) == (
        3,
        "total",
        "2/second",
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about the page
def test_in_a_browser_the_sample_follows_the_limits_and_a_bad_rate_limit_is_marked(
    new_context: Callable[..., BrowserContext], db: Database, api: Api
) -> None:
    pid = int(api.admin("product/prepare", title="Metered API", type="apikey"))
    page = new_context().new_page()
    log_in(page, "/admin", *ADMIN)
    page.goto(f"/admin/products/{pid}")
    words = page.locator("#sample-limits")
    expect(words).to_have_text("Unlimited verifications.")
    page.get_by_label("Quota (optional)").fill("250")
    expect(words).to_have_text("250 verifications per month.")
    page.get_by_label("Quota period").select_option("day")
    page.get_by_label("Rate limit (optional)").fill("10/second")
    expect(words).to_have_text("250 verifications per day, at most 10 per second.")
    page.get_by_role("button", name="Save product").click()
    expect(page.locator(".flash")).to_have_text("Product “Metered API” saved.")
    config = products.get(db, pid).config
    assert (config["quota"], config["quota_period"], config["rate_limit"]) == (
        250,
        "day",
        "10/second",
    )
    page.get_by_label("Rate limit (optional)").fill("ten a second")
    expect(words).to_have_text("")
    page.get_by_role("button", name="Save product").click()
    expect(page.get_by_role("alert").first).to_have_text(
        "rate_limit must be in limits notation, such as 10/second or 1000/hour"
    )
    expect(page.get_by_label("Rate limit (optional)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Quota (optional)")).not_to_have_attribute("aria-invalid", "true")
    assert products.get(db, pid).config["rate_limit"] == "10/second"
