"""The business settings page: a field for every setting; saving goes through the service,
and a bad value is shown at its field with nothing saved."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from keyvend.db.unit_of_work import Database
from keyvend.schemas.business import BusinessSettings
from keyvend.services import business_settings
from tests.web.conftest import Browsing, alert_of, flash_of


def _field_error(html: str, name: str) -> str | None:
    """The error shown inside the field `name`, if any."""
    found = re.search(
        rf'<div class="field invalid">\s*<label for="f-{name}">.*?'
        rf'<p class="error field-error" role="alert" id="f-{name}-error">([^<]*)</p>',
        html,
        re.S,
    )
    return found.group(1) if found else None


def test_the_form_has_a_field_for_every_setting_with_its_value(admin_web: Browsing) -> None:
    page = admin_web.get("/admin/settings")
    assert page.status_code == 200
    for name in BusinessSettings.model_fields:
        assert f'name="{name}"' in page.text, name
    assert 'name="invoice_due_days" type="number" value="5"' in page.text
    assert 'name="invoice_reminder_after_due_days" type="text" value="5"' in page.text
    assert "Please transfer {total} to our bank account" in page.text
    assert '<a href="/admin/settings" aria-current="page">Settings</a>' in page.text


def test_saving_changes_the_settings(admin_web: Browsing, db: Database) -> None:
    admin_web.get("/admin/settings")
    form = {
        "company_name": "Keyvend Ltd",
        "company_address": "1 Main St\r\nSpringfield",
        "tax_name": "VAT",
        "tax_rate": "19",
        "invoice_reminder_before_due_days": "3, 1",
    }
    page = admin_web.post("/admin/settings", form)
    assert flash_of(page.text) == "Settings saved."
    saved = business_settings.get(db)
    assert (saved.company_name, saved.tax_name, saved.tax_rate) == ("Keyvend Ltd", "VAT", 19)
    assert saved.company_address == "1 Main St\nSpringfield"
    assert saved.invoice_reminder_before_due_days == [1, 3]
    assert 'name="invoice_reminder_before_due_days" type="text" value="1, 3"' in page.text
    again = admin_web.post("/admin/settings", {"company_name": "Keyvend Ltd"})
    assert flash_of(again.text) == "Nothing changed."


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("tax_rate", "abc", "tax_rate must be a percentage from 0 to 100 with at most 3 decimals"),
        ("invoice_due_days", "-1", "invoice_due_days: Input should be greater than or equal to 0"),
        (
            "bank_transfer_instructions",
            "Pay {amount}",
            "bank_transfer_instructions: may only use the placeholders "
            "{number}, {total}, {due_date}, {company_name}",
        ),
    ],
)
def test_a_bad_value_is_shown_at_its_field_and_nothing_is_saved(
    admin_web: Browsing, db: Database, name: str, value: str, message: str
) -> None:
    before = business_settings.get(db)
    admin_web.get("/admin/settings")
    page = admin_web.post("/admin/settings", {"company_name": "Changed Ltd", name: value})
    assert page.status_code == 400
    assert _field_error(page.text, name) == message and name in message
    assert alert_of(page.text) == message  # one message, at the field
    assert 'value="Changed Ltd"' in page.text and value in page.text  # as typed
    assert business_settings.get(db) == before and before.tax_rate == Decimal(0)


def test_the_key_in_email_switch_is_a_checkbox_that_saves_both_ways(
    admin_web: Browsing, db: Database
) -> None:
    page = admin_web.get("/admin/settings")
    assert 'name="email_includes_key" type="checkbox" value="true" aria-describedby' in page.text
    # A browser posts the hidden "false", then "true" only when the box is ticked.
    page = admin_web.post("/admin/settings", {"email_includes_key": ["false", "true"]})
    assert flash_of(page.text) == "Settings saved." and business_settings.get(db).email_includes_key
    assert 'name="email_includes_key" type="checkbox" value="true" checked aria-' in page.text
    page = admin_web.post("/admin/settings", {"email_includes_key": "false"})
    assert (
        flash_of(page.text) == "Settings saved."
        and not business_settings.get(db).email_includes_key
    )
