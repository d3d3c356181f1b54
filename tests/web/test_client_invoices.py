"""The client's invoices without JavaScript: checkout leads to the invoice, Pay buttons, bank
instructions, a pending service linking its invoice, "Renew now", and nobody else's invoices."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.schemas.order import OrderCreate
from keyvend.services import invoice
from keyvend.services import order as orders
from keyvend.services import payment as payments
from keyvend.services.pagination import PageRequest
from tests.conftest import Api
from tests.web.conftest import Browsing, alert_of, checkout, flash_of, id_in_path


def _intruder(app: Any) -> Browsing:
    intruder = Browsing(TestClient(app))
    intruder.login("/login", "zoe@example.com", "zoe-pass-123")
    return intruder


def test_checkout_of_a_paid_product_leads_to_its_unpaid_invoice(
    client_web: Browsing, paid_product: int, db: Database
) -> None:
    page = checkout(client_web, paid_product)
    found = invoice.get(db, id_in_path(page))
    order_id = found.items[0].order_id
    assert page.url.path == f"/invoices/{found.id}"
    assert flash_of(page.text) == f"Order #{order_id} is placed. Please pay this invoice."
    assert "Invoice KV-00001" in page.text and "19.00 USD" in page.text
    assert "status-unpaid" in page.text and "Pro key" in page.text
    assert 'name="gateway" value="bank_transfer"' in page.text
    assert f'action="/invoices/{found.id}/pay"' in page.text


def test_an_after_order_checkout_is_active_and_still_shows_its_invoice(
    client_web: Browsing, monthly_product: int
) -> None:
    page = checkout(client_web, monthly_product, "1M")
    assert page.url.path.startswith("/invoices/")
    assert flash_of(page.text) == "Order #1 is active. Please pay this invoice."
    assert "5.00 USD" in page.text


def test_the_invoice_list_shows_my_invoices_and_no_one_elses(
    client_web: Browsing, paid_product: int, other_client: int, app: Any
) -> None:
    mine = id_in_path(checkout(client_web, paid_product))
    theirs = id_in_path(checkout(_intruder(app), paid_product))
    page = client_web.get("/invoices")
    assert f'href="/invoices/{mine}">KV-00001<' in page.text
    assert f"/invoices/{theirs}" not in page.text and "KV-00002" not in page.text
    assert '<a href="/invoices" aria-current="page">Invoices</a>' in page.text


def test_a_client_gets_404_for_another_clients_invoice(
    client_web: Browsing, paid_product: int, other_client: int, app: Any, db: Database
) -> None:
    invoice_id = id_in_path(checkout(client_web, paid_product))
    intruder = _intruder(app)
    assert intruder.get(f"/invoices/{invoice_id}").status_code == 404
    page = intruder.post(f"/invoices/{invoice_id}/pay", {"gateway": "bank_transfer"})
    assert page.status_code == 404 and alert_of(page.text) == "Invoice not found"
    assert invoice.get(db, invoice_id).gateway is None


def test_choosing_bank_transfer_shows_the_instructions(
    client_web: Browsing, paid_product: int, db: Database
) -> None:
    invoice_id = id_in_path(checkout(client_web, paid_product))
    page = client_web.post(f"/invoices/{invoice_id}/pay", {"gateway": "bank_transfer"})
    assert page.status_code == 200 and "Bank transfer instructions" in page.text
    assert "Please transfer 19.00 USD to our bank account and quote invoice KV-00001" in page.text
    assert invoice.get(db, invoice_id).gateway == "bank_transfer"
    again = client_web.get(f"/invoices/{invoice_id}")  # a later visit still shows them
    assert "Please transfer 19.00 USD to our bank account" in again.text
    payments.mark_as_paid(db, invoice_id)
    assert "Bank transfer instructions" not in client_web.get(f"/invoices/{invoice_id}").text


def test_an_invoice_not_yet_paid_by_bank_transfer_shows_no_instructions(
    client_web: Browsing, paid_product: int
) -> None:
    invoice_id = id_in_path(checkout(client_web, paid_product))
    assert "Bank transfer instructions" not in client_web.get(f"/invoices/{invoice_id}").text


def test_an_unknown_gateway_is_refused_on_the_invoice(
    client_web: Browsing, paid_product: int
) -> None:
    invoice_id = id_in_path(checkout(client_web, paid_product))
    page = client_web.post(f"/invoices/{invoice_id}/pay", {"gateway": "cash"})
    assert page.status_code == 400
    assert alert_of(page.text) == "gateway must be one of bank_transfer"


def test_a_paid_invoice_has_no_pay_buttons_and_refuses_payment(
    client_web: Browsing, paid_product: int, db: Database
) -> None:
    invoice_id = id_in_path(checkout(client_web, paid_product))
    payments.mark_as_paid(db, invoice_id)
    page = client_web.get(f"/invoices/{invoice_id}")
    assert "status-paid" in page.text and 'name="gateway"' not in page.text
    page = client_web.post(f"/invoices/{invoice_id}/pay", {"gateway": "bank_transfer"})
    assert page.status_code == 409
    assert alert_of(page.text) == "This invoice is paid; there is nothing to pay"


def test_a_pending_order_says_it_waits_for_payment_and_links_its_invoice(
    client_web: Browsing, paid_product: int, db: Database, api: Api
) -> None:
    found = invoice.get(db, id_in_path(checkout(client_web, paid_product)))
    order_id = found.items[0].order_id
    page = client_web.get(f"/services/{order_id}")
    assert "This order waits for payment" in page.text
    assert f'<a href="/invoices/{found.id}">KV-00001</a> (19.00 USD)' in page.text
    assert "Renew now" not in page.text
    payments.mark_as_paid(db, found.id)
    page = client_web.get(f"/services/{order_id}")
    assert "waits for payment" not in page.text and "Valid" in page.text
    key = orders.service(db, order_id).api_key
    assert api.guest("serviceapikey/check", key=key) is True


def test_renew_now_opens_the_renewal_invoice_and_reuses_it(
    client_web: Browsing, monthly_product: int, customer: dict[str, Any], db: Database
) -> None:
    order_id = orders.create(
        db,
        OrderCreate(
            client_id=customer["id"], product_id=monthly_product, period="1M", activate=True
        ),
    )
    page = client_web.get(f"/services/{order_id}")
    assert f'action="/services/{order_id}/renew"' in page.text and "5.00 USD" in page.text
    page = client_web.post(f"/services/{order_id}/renew", {})
    renewal = invoice.get(db, id_in_path(page))
    assert renewal.items[0].task == "renew" and renewal.total == "5.00"
    assert flash_of(page.text) == "Here is the renewal invoice: paying it renews the service."
    client_web.get(f"/services/{order_id}")
    again = client_web.post(f"/services/{order_id}/renew", {})
    assert id_in_path(again) == renewal.id
    listed = invoice.get_list(db, page=PageRequest(), order_id=order_id)
    assert listed.total == 1


def test_renew_now_of_another_clients_service_is_404(
    client_web: Browsing,
    monthly_product: int,
    other_client: int,
    app: Any,
    db: Database,
) -> None:
    order_id = orders.create(
        db,
        OrderCreate(client_id=other_client, product_id=monthly_product, period="1M", activate=True),
    )
    client_web.get("/")
    assert client_web.post(f"/services/{order_id}/renew", {}).status_code == 404
    assert invoice.get_list(db, page=PageRequest(), order_id=order_id).total == 0


def test_a_free_service_offers_no_renewal(
    client_web: Browsing, active_order: dict[str, Any]
) -> None:
    page = client_web.get(f"/services/{active_order['id']}")
    assert page.status_code == 200 and "Renew now" not in page.text


def test_the_invoice_prints_without_navigation_and_buttons(
    client_web: Browsing, paid_product: int, app: Any
) -> None:
    page = checkout(client_web, paid_product)
    assert "data-print hidden>Print</button>" in page.text
    css = TestClient(app).get("/static/keyvend.css").text
    print_rules = css.split("@media print", 1)[1]
    for hidden in (".bar", "form", "button", ".pay", ".crumbs"):
        assert hidden in print_rules.split("display: none")[0], hidden


def test_invoice_pages_need_a_logged_in_client(app: Any) -> None:
    for path in ("/invoices", "/invoices/1"):
        response = TestClient(app).get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/", path
