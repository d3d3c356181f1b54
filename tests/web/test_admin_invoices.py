"""The admin's invoice pages without JavaScript: the list and its filters, an invoice's
buttons (mark paid, refund, cancel, retry tasks) and transactions, the order page's invoices
and the dashboard's billing figures."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.services import extension, invoice
from keyvend.services import order as orders
from keyvend.services import payment as payments
from tests.conftest import Api, FakeClock
from tests.web.conftest import ADMIN, Browsing, alert_of, checkout, flash_of, id_in_path


def _bought(client_web: Browsing, product_id: int, db: Database) -> dict[str, Any]:
    """The customer's checkout of `product_id`: the invoice id and its order id."""
    found = invoice.get(db, id_in_path(checkout(client_web, product_id)))
    return {"id": found.id, "order_id": found.items[0].order_id}


def test_the_list_filters_invoices_by_status_and_client(
    admin_web: Browsing,
    client_web: Browsing,
    paid_product: int,
    customer: dict[str, Any],
    other_client: int,
    app: Any,
    db: Database,
) -> None:
    first = _bought(client_web, paid_product, db)["id"]
    zoe = Browsing(TestClient(app))
    zoe.login("/login", "zoe@example.com", "zoe-pass-123")
    second = id_in_path(checkout(zoe, paid_product))
    payments.mark_as_paid(db, second)
    page = admin_web.get("/admin/invoices")
    assert "KV-00001" in page.text and "KV-00002" in page.text and "19.00 USD" in page.text
    page = admin_web.get("/admin/invoices?status=paid")
    assert f"/admin/invoices/{second}" in page.text and f"/admin/invoices/{first}" not in page.text
    assert '<option value="paid" selected>' in page.text
    page = admin_web.get(f"/admin/invoices?client_id={customer['id']}")
    assert f"/admin/invoices/{first}" in page.text and f"/admin/invoices/{second}" not in page.text
    page = admin_web.get(f"/admin/invoices?client_id={other_client}&status=unpaid")
    assert "No invoices match these filters." in page.text
    for garbage in ("status=nope", "client_id=-1", "client_id=" + "9" * 30, "page=x"):
        assert admin_web.get(f"/admin/invoices?{garbage}").status_code == 200, garbage


def test_the_invoice_page_shows_lines_pay_link_and_the_actions_of_an_unpaid_invoice(
    admin_web: Browsing, client_web: Browsing, paid_product: int, db: Database
) -> None:
    bought = _bought(client_web, paid_product, db)
    found = invoice.get(db, bought["id"])
    page = admin_web.get(f"/admin/invoices/{found.id}")
    assert "Invoice KV-00001" in page.text and "19.00 USD" in page.text
    assert f'href="/admin/orders/{bought["order_id"]}"' in page.text
    assert f"/invoice/{found.hash}" in page.text and "No transactions yet." in page.text
    assert "Mark paid" in page.text and "Cancel invoice" in page.text
    assert "Refund invoice" not in page.text
    assert '<a href="/admin/invoices" aria-current="page">Invoices</a>' in page.text


def test_marking_paid_records_the_transaction_and_activates_the_order(
    admin_web: Browsing, client_web: Browsing, paid_product: int, db: Database, api: Api
) -> None:
    bought = _bought(client_web, paid_product, db)
    admin_web.get(f"/admin/invoices/{bought['id']}")
    form = {"transaction_id": "BANK-REF-42", "note": "Arrived Monday"}
    page = admin_web.post(f"/admin/invoices/{bought['id']}/paid", form)
    assert flash_of(page.text) == "Invoice marked paid."
    assert "status-paid" in page.text and "<code>BANK-REF-42</code>" in page.text
    assert "Arrived Monday" in page.text and "Mark paid" not in page.text
    assert "status-executed" in page.text and "Refund invoice" in page.text
    key = orders.service(db, bought["order_id"]).api_key
    assert api.guest("serviceapikey/check", key=key) is True
    page = admin_web.post(f"/admin/invoices/{bought['id']}/paid", {})
    assert page.status_code == 409
    assert alert_of(page.text) == "Only unpaid invoices can be paid; this invoice is paid"


def test_a_refund_needs_confirmation_then_records_it(
    admin_web: Browsing, client_web: Browsing, paid_product: int, db: Database
) -> None:
    invoice_id = _bought(client_web, paid_product, db)["id"]
    payments.mark_as_paid(db, invoice_id)
    admin_web.get(f"/admin/invoices/{invoice_id}")
    page = admin_web.post(f"/admin/invoices/{invoice_id}/refund", {"note": "Goodwill"})
    assert page.status_code == 400 and invoice.get(db, invoice_id).status == "paid"
    assert alert_of(page.text) == "Confirm first: tick the box next to the button."
    page = admin_web.post(
        f"/admin/invoices/{invoice_id}/refund", {"confirm": "1", "note": "Goodwill"}
    )
    assert flash_of(page.text).startswith("Invoice refunded.")
    assert "status-refunded" in page.text and "Goodwill" in page.text
    refunded = invoice.get(db, invoice_id)
    assert refunded.status == "refunded" and [t.type for t in refunded.transactions] == [
        "payment",
        "refund",
    ]


def test_cancel_is_for_unpaid_invoices_after_confirmation(
    admin_web: Browsing, client_web: Browsing, paid_product: int, db: Database
) -> None:
    invoice_id = _bought(client_web, paid_product, db)["id"]
    admin_web.get(f"/admin/invoices/{invoice_id}")
    assert admin_web.post(f"/admin/invoices/{invoice_id}/cancel", {}).status_code == 400
    page = admin_web.post(f"/admin/invoices/{invoice_id}/cancel", {"confirm": "1"})
    assert flash_of(page.text) == "Invoice canceled." and "status-canceled" in page.text
    assert "A canceled invoice allows no action." in page.text
    page = admin_web.post(f"/admin/invoices/{invoice_id}/cancel", {"confirm": "1"})
    assert page.status_code == 409
    assert alert_of(page.text) == "Only unpaid invoices can be canceled; this invoice is canceled"


def test_retry_runs_a_failed_task_again(
    admin_web: Browsing, client_web: Browsing, paid_product: int, db: Database
) -> None:
    bought = _bought(client_web, paid_product, db)
    extension.deactivate(db, extension.APIKEY)
    payments.mark_as_paid(db, bought["id"])
    page = admin_web.get(f"/admin/invoices/{bought['id']}")
    assert "status-failed" in page.text and "Retry failed tasks" in page.text
    assert invoice.get(db, bought["id"]).items[0].status == "failed"
    extension.activate(db, extension.APIKEY)
    page = admin_web.post(f"/admin/invoices/{bought['id']}/retry", {})
    assert flash_of(page.text) == "The failed tasks were run again."
    assert "status-executed" in page.text and "Retry failed tasks" not in page.text
    assert orders.get(db, bought["order_id"]).status == "active"


def test_actions_on_a_missing_invoice_are_404(admin_web: Browsing) -> None:
    admin_web.get("/admin/invoices")
    assert admin_web.get("/admin/invoices/999").status_code == 404
    for action in ("paid", "refund", "cancel", "retry"):
        page = admin_web.post(f"/admin/invoices/999/{action}", {"confirm": "1"})
        assert page.status_code == 404, action


def test_the_order_page_lists_its_invoices(
    admin_web: Browsing, client_web: Browsing, paid_product: int, db: Database
) -> None:
    bought = _bought(client_web, paid_product, db)
    page = admin_web.get(f"/admin/orders/{bought['order_id']}")
    assert f'href="/admin/invoices/{bought["id"]}">KV-00001</a>' in page.text
    assert "19.00 USD" in page.text


def test_the_dashboard_shows_revenue_this_month_unpaid_and_overdue(
    admin_web: Browsing,
    client_web: Browsing,
    paid_product: int,
    db: Database,
    clock: FakeClock,
) -> None:
    paid = _bought(client_web, paid_product, db)["id"]
    _bought(client_web, paid_product, db)
    payments.mark_as_paid(db, paid)

    def figures() -> list[str]:
        numbers = re.findall(r'class="number">([^<]*)<', admin_web.get("/admin").text)
        return numbers[-3:]

    assert figures() == ["19.00 USD", "19.00 USD", "0"]
    clock.advance(days=6)  # past the default 5 days to pay, still January
    assert figures() == ["19.00 USD", "19.00 USD", "1"]
    clock.advance(days=14)  # February: January's payment is last month's revenue
    admin_web.login("/admin/login", *ADMIN)  # the session of three weeks ago has expired
    assert figures() == ["0.00 USD", "19.00 USD", "1"]


def test_invoice_pages_need_an_admin(client_web: Browsing, app: Any) -> None:
    for path in ("/admin/invoices", "/admin/invoices/1", "/admin/settings"):
        response = TestClient(app).get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin", path
        response = client_web.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin", path
