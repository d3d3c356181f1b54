"""The pay link `/invoice/{hash}` without JavaScript, with Stripe on against the local fake
Stripe server: anyone holding the link sees and pays the invoice; Stripe sends them back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.services import invoice
from keyvend.services import payment as payments
from tests.support import fake_stripe
from tests.support.fake_stripe import PUBLIC_URL, FakeStripe, stripe_settings
from tests.web.conftest import Browsing, alert_of, checkout, id_in_path

# The stripe library hands httpx its form body as `data=`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
def stripe_api() -> Iterator[FakeStripe]:
    with fake_stripe.running() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, stripe_api: FakeStripe) -> Settings:
    return stripe_settings(settings, stripe_api)


@pytest.fixture
def issued(client_web: Browsing, paid_product: int, db: Database) -> dict[str, Any]:
    """An unpaid invoice the `customer` got at checkout: its id and pay-link hash."""
    found = invoice.get(db, id_in_path(checkout(client_web, paid_product)))
    return {"id": found.id, "hash": found.hash, "link": f"/invoice/{found.hash}"}


@pytest.fixture
def guest(app: Any) -> Browsing:
    return Browsing(TestClient(app))


def test_the_pay_link_shows_the_invoice_without_logging_in(
    guest: Browsing, issued: dict[str, Any]
) -> None:
    page = guest.get(issued["link"])
    assert page.status_code == 200 and "Invoice KV-00001" in page.text
    assert "status-unpaid" in page.text and "19.00 USD" in page.text and "Jo" in page.text
    assert 'value="bank_transfer">Pay with Bank transfer<' in page.text
    assert 'value="stripe"' in page.text and "Pay with Card (Stripe)" in page.text
    assert f'action="{issued["link"]}/pay"' in page.text


def test_an_unknown_pay_link_is_the_404_page(guest: Browsing, issued: dict[str, Any]) -> None:
    for path in ("/invoice/nope", "/invoice/" + "a" * 500, issued["link"] + "x"):
        page = guest.get(path)
        assert page.status_code == 404 and alert_of(page.text) == "Invoice not found", path
    guest.get(issued["link"])
    page = guest.post("/invoice/nope/pay", {"gateway": "bank_transfer"})
    assert page.status_code == 404 and alert_of(page.text) == "Invoice not found"


def test_a_guest_chooses_bank_transfer_and_sees_the_instructions(
    guest: Browsing, issued: dict[str, Any], db: Database
) -> None:
    guest.get(issued["link"])
    page = guest.post(f"{issued['link']}/pay", {"gateway": "bank_transfer"})
    assert page.status_code == 200 and "Bank transfer instructions" in page.text
    assert "quote invoice KV-00001 as the payment reference" in page.text
    assert invoice.get(db, issued["id"]).gateway == "bank_transfer"


def test_paying_without_the_form_token_is_refused(
    guest: Browsing, issued: dict[str, Any], db: Database
) -> None:
    guest.get(issued["link"])
    page = guest.post(f"{issued['link']}/pay", {"gateway": "bank_transfer", "csrf": "forged"})
    assert page.status_code == 403 and invoice.get(db, issued["id"]).gateway is None


def test_stripe_sends_the_guest_to_its_checkout_page_and_back_to_the_pay_link(
    guest: Browsing, issued: dict[str, Any], stripe_api: FakeStripe, db: Database
) -> None:
    page = guest.get(issued["link"])
    assert "https://checkout.stripe.com" in page.headers["content-security-policy"]
    response = guest.post(f"{issued['link']}/pay", {"gateway": "stripe"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "https://checkout.stripe.test/c/pay/cs_test_1"
    (sent,) = stripe_api.to("/v1/checkout/sessions")
    assert sent.form["success_url"] == f"{PUBLIC_URL}{issued['link']}?paid=1"
    assert sent.form["line_items[0][price_data][unit_amount]"] == "1900"
    assert invoice.get(db, issued["id"]).gateway == "stripe"


def test_the_client_pays_their_invoice_with_stripe_from_the_client_area(
    client_web: Browsing, issued: dict[str, Any]
) -> None:
    client_web.get(f"/invoices/{issued['id']}")
    response = client_web.post(
        f"/invoices/{issued['id']}/pay", {"gateway": "stripe"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("https://checkout.stripe.test/c/pay/")


def test_stripe_refusing_the_payment_shows_its_reason_on_the_invoice(
    guest: Browsing, issued: dict[str, Any], stripe_api: FakeStripe
) -> None:
    stripe_api.fail(500, "Stripe is down", type="api_error", code=None)
    guest.get(issued["link"])
    page = guest.post(f"{issued['link']}/pay", {"gateway": "stripe"})
    assert page.status_code == 400 and "Invoice KV-00001" in page.text
    assert alert_of(page.text) == "Stripe refused to start the payment (HTTP 500): Stripe is down"


def test_coming_back_from_stripe_thanks_the_payer(
    guest: Browsing, issued: dict[str, Any], db: Database
) -> None:
    page = guest.get(f"{issued['link']}?paid=1")
    assert "Thank you for your payment. We will confirm it as soon as it reaches us." in page.text
    assert "Thank you" not in guest.get(issued["link"]).text
    payments.mark_as_paid(db, issued["id"])
    page = guest.get(f"{issued['link']}?paid=1")
    assert (
        "Thank you: your payment is confirmed." in page.text and 'name="gateway"' not in page.text
    )
