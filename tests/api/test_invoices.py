"""Billing through the API: checkout by setup, invoices, paying, refunds, renewals, settings."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from keyvend.config import Settings
from keyvend.db.models import Event, Invoice, Order
from keyvend.db.unit_of_work import Database
from keyvend.domain.order_states import NO_PERIOD
from keyvend.domain.periods import parse_period
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients
from tests.conftest import Api, FakeClock
from tests.support.api import admin_error

# DESIGN.md section 9's invoice fields, plus `gateway` (the gateway the client chose); an item
# adds `attempts` and `error` (a failed task is "failed with its error").
INVOICE_FIELDS = {
    "id", "number", "hash", "client_id", "status", "currency", "subtotal", "tax_name",
    "tax_rate", "tax", "total", "due_at", "paid_at", "created_at", "seller", "buyer", "items",
    "transactions", "gateway",
}  # fmt: skip
ITEM_FIELDS = {
    "id", "order_id", "title", "period", "quantity", "unit_price", "total", "task", "status",
    "attempts", "error",
}  # fmt: skip
NUMBER = re.compile(r"KV-\d{5}")
NOT_FOUND = {"message": "Invoice not found", "code": 9999}


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The shop's settings; a test may change some: parametrize `settings` indirectly."""
    return settings.model_copy(update=getattr(request, "param", {}))


# -- helpers -------------------------------------------------------------------------------


def product(api: Api, *, setup: str, price: str = "10.00", title: str = "Paid") -> int:
    """An enabled apikey product sold once at `price` ("0" is free) with `setup`."""
    pid = int(api.admin("product/prepare", title=title, type="apikey"))
    pricing = {"type": "once", "once": {"price": price}}
    api.admin("product/update", id=pid, status="enabled", setup=setup, pricing=pricing)
    return pid


def monthly(api: Api, price: str = "5.00") -> int:
    """An enabled after_order apikey product at `price` a month."""
    pid = int(api.admin("product/prepare", title="Monthly", type="apikey"))
    pricing = {"type": "recurrent", "recurrent": {"1M": price}}
    api.admin("product/update", id=pid, status="enabled", setup="after_order", pricing=pricing)
    return pid


def buy(api: Api, who: dict[str, Any], pid: int, **item: Any) -> dict[str, Any]:
    """Put `pid` in `who`'s cart and check out; the checkout result."""
    api.ok("guest/cart/add_item", auth=who["auth"], id=pid, **item)
    return dict(api.ok("client/cart/checkout", auth=who["auth"]))


def another_client(db: Database, email: str = "max@example.com") -> dict[str, Any]:
    account = clients.create(db, ClientCreate(email=email, first_name="Max", password="max-pw-123"))
    return {"id": account.id, "auth": ("client", account.api_token)}


def key_checks(api: Api, order_id: int) -> bool:
    key = api.admin("order/service", id=order_id)["api_key"]
    return bool(api.guest("serviceapikey/check", key=key))


def events(db: Database, kind: str) -> list[Event]:
    with db.unit_of_work(read_only=True) as uow:
        return list(uow.session.scalars(select(Event).where(Event.type == kind)))


def all_events(db: Database) -> int:
    with db.unit_of_work(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count(Event.seq))) or 0)


def invoice_count(db: Database) -> int:
    with db.unit_of_work(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count(Invoice.id))) or 0)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- checkout by setup ---------------------------------------------------------------------


def test_a_free_product_activates_at_once_and_issues_no_invoice(
    api: Api, db: Database, product_id: int, customer: dict[str, Any]
) -> None:
    placed = buy(api, customer, product_id)
    assert placed["activated"] == [placed["order_id"]]
    assert (placed["invoice_id"], placed["invoice_hash"]) == (None, None)
    assert (placed["total"], placed["currency"]) == ("0.00", "USD")
    assert api.admin("order/get", id=placed["order_id"])["status"] == "active"
    assert key_checks(api, placed["order_id"])
    assert invoice_count(db) == 0
    assert events(db, "invoice.created") == []


def test_a_period_priced_at_zero_activates_at_once_though_other_periods_cost(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    pid = int(api.admin("product/prepare", title="Trial", type="apikey"))
    pricing = {"type": "recurrent", "recurrent": {"1M": "0", "1Y": "50"}}
    api.admin("product/update", id=pid, status="enabled", setup="after_payment", pricing=pricing)
    placed = buy(api, customer, pid, period="1M")
    assert placed["activated"] == [placed["order_id"]]
    assert placed["invoice_id"] is None
    assert api.admin("order/get", id=placed["order_id"])["status"] == "active"


def test_after_order_activates_at_once_with_an_unpaid_invoice_to_activate(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    placed = buy(api, customer, product(api, setup="after_order"))
    assert placed["activated"] == [placed["order_id"]]
    assert key_checks(api, placed["order_id"])
    invoice = api.admin("invoice/get", id=placed["invoice_id"])
    assert invoice["status"] == "unpaid"
    assert [(i["task"], i["status"]) for i in invoice["items"]] == [("activate", "pending_payment")]
    assert api.admin("invoice/mark_as_paid", id=invoice["id"]) is True
    paid = api.admin("invoice/get", id=invoice["id"])
    assert paid["status"] == "paid"
    assert paid["items"][0]["status"] == "executed"
    assert len(events(db, "order.activated")) == 1  # paying did not activate it twice


def test_after_payment_waits_for_the_payment_then_activates_with_a_valid_key(
    api: Api, db: Database, customer: dict[str, Any], clock: FakeClock
) -> None:
    placed = buy(api, customer, product(api, setup="after_payment"))
    oid = placed["order_id"]
    assert placed["activated"] == []
    assert api.admin("order/get", id=oid)["status"] == "pending_setup"
    clock.advance(hours=2)
    assert api.admin("invoice/mark_as_paid", id=placed["invoice_id"], transaction_id="TX-1")
    order = api.admin("order/get", id=oid)
    assert order["status"] == "active"
    assert key_checks(api, oid)
    invoice = api.admin("invoice/get", id=placed["invoice_id"])
    assert (invoice["status"], at(invoice["paid_at"])) == ("paid", clock.now)
    assert [(i["task"], i["status"], i["error"]) for i in invoice["items"]] == [
        ("activate", "executed", None)
    ]
    (payment,) = invoice["transactions"]
    assert (payment["gateway"], payment["type"], payment["txn_id"]) == ("manual", "payment", "TX-1")
    assert (payment["status"], payment["amount"], payment["currency"]) == (
        "processed",
        "10.00",
        "USD",
    )


@pytest.mark.parametrize("pay", [True, False])
def test_manual_setup_waits_for_an_admin_whether_paid_or_not(
    api: Api, customer: dict[str, Any], pay: bool
) -> None:
    placed = buy(api, customer, product(api, setup="manual"))
    oid = placed["order_id"]
    invoice = api.admin("invoice/get", id=placed["invoice_id"])
    assert invoice["items"][0]["task"] == "none"
    if pay:
        api.admin("invoice/mark_as_paid", id=invoice["id"])
        assert api.admin("invoice/get", id=invoice["id"])["items"][0]["status"] == "executed"
    assert api.admin("order/get", id=oid)["status"] == "pending_setup"
    assert api.admin("order/activate", id=oid) is True
    assert api.admin("order/get", id=oid)["status"] == "active"
    assert key_checks(api, oid)


# -- the invoice ---------------------------------------------------------------------------


def test_checkout_returns_the_invoice_and_the_invoice_has_every_field(
    api: Api, customer: dict[str, Any], clock: FakeClock
) -> None:
    pid = product(api, setup="after_payment", title="Pro key")
    placed = buy(api, customer, pid)
    assert set(placed) == {
        "order_id", "orders", "activated", "total", "currency", "invoice_id", "invoice_hash",
        "payment",
    }  # fmt: skip
    assert (placed["total"], placed["currency"], placed["payment"]) == ("10.00", "USD", None)
    invoice = api.admin("invoice/get", id=placed["invoice_id"])
    assert set(invoice) == INVOICE_FIELDS
    assert set(invoice["items"][0]) == ITEM_FIELDS
    assert NUMBER.fullmatch(invoice["number"])
    assert invoice["hash"] == placed["invoice_hash"] and len(invoice["hash"]) >= 32
    assert (invoice["client_id"], invoice["status"], invoice["currency"]) == (
        customer["id"],
        "unpaid",
        "USD",
    )
    amounts = [invoice[k] for k in ("subtotal", "tax_name", "tax_rate", "tax", "total")]
    assert amounts == ["10.00", "", "0", "0.00", "10.00"]
    assert at(invoice["created_at"]) == clock.now
    assert (at(invoice["due_at"]) - clock.now).days == 5
    assert invoice["paid_at"] is None and invoice["transactions"] == []
    item = invoice["items"][0]
    assert item["order_id"] == placed["order_id"]
    assert (item["title"], item["period"], item["quantity"]) == ("Pro key", None, 1)
    assert (item["unit_price"], item["total"], item["attempts"]) == ("10.00", "10.00", 0)


def test_invoice_numbers_are_sequential_without_gaps_when_a_checkout_fails(
    api: Api, customer: dict[str, Any]
) -> None:
    pid = product(api, setup="after_payment")
    first = buy(api, customer, pid)
    doomed = product(api, setup="after_payment", title="Doomed")
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=doomed)
    api.admin("product/update", id=doomed, status="disabled")
    assert api.error("client/cart/checkout", auth=customer["auth"])["message"] == (
        "Product not found"
    )
    api.ok("guest/cart/reset", auth=customer["auth"])
    second = buy(api, customer, pid)
    third = buy(api, customer, product(api, setup="manual"))
    numbers = [
        api.admin("invoice/get", id=p["invoice_id"])["number"] for p in (first, second, third)
    ]
    assert numbers == ["KV-00001", "KV-00002", "KV-00003"]


def test_the_invoice_keeps_seller_and_buyer_as_they_were_when_issued(
    api: Api, customer: dict[str, Any]
) -> None:
    api.admin(
        "system/update_params",
        company_name="Keys Ltd",
        company_email="billing@keys.example",
        company_address="1 Main St",
    )
    placed = buy(api, customer, product(api, setup="after_payment"))
    api.admin("system/update_params", company_name="Renamed Ltd", company_address="2 Side St")
    api.admin("client/update", id=customer["id"], first_name="Joanna", email="new@example.com")
    invoice = api.admin("invoice/get", id=placed["invoice_id"])
    seller = {"name": "Keys Ltd", "email": "billing@keys.example", "address": "1 Main St"}
    assert invoice["seller"] == seller
    assert invoice["buyer"]["name"] == "Jo"
    assert invoice["buyer"]["email"] == "jo@example.com"


def test_the_tax_line_uses_the_business_tax_name_and_rate(
    api: Api, customer: dict[str, Any]
) -> None:
    api.admin("system/update_params", tax_name="VAT", tax_rate="19")
    placed = buy(api, customer, product(api, setup="after_payment", price="9.00"))
    invoice = api.admin("invoice/get", id=placed["invoice_id"])
    assert (invoice["tax_name"], invoice["tax_rate"]) == ("VAT", "19")
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("9.00", "1.71", "10.71")
    assert placed["total"] == "10.71"


def test_three_of_a_ten_cent_product_total_thirty_cents(api: Api, customer: dict[str, Any]) -> None:
    placed = buy(api, customer, product(api, setup="after_payment", price="0.10"), quantity=3)
    invoice = api.admin("invoice/get", id=placed["invoice_id"])
    (item,) = invoice["items"]
    assert (item["quantity"], item["unit_price"], item["total"]) == (3, "0.10", "0.30")
    assert (invoice["total"], placed["total"]) == ("0.30", "0.30")


@pytest.mark.parametrize(
    ("settings", "price", "shown", "too_precise"),
    [
        ({"currency": "JPY"}, "1900", "1900", "1900.5"),
        ({"currency": "KWD"}, "1.255", "1.255", "1.2555"),
    ],
    indirect=["settings"],
)
def test_a_shop_prices_and_invoices_in_its_currencys_decimals(
    api: Api, customer: dict[str, Any], price: str, shown: str, too_precise: str
) -> None:
    currency = api.client.app.state.db.shop.currency
    pid = product(api, setup="after_payment", price=price)
    pricing = {"type": "once", "once": {"price": too_precise}}
    error = admin_error(api, "product/update", id=pid, pricing=pricing)
    places = 0 if currency == "JPY" else 3
    assert f"at most {places} decimals" in error["message"]
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid, quantity=2)
    cart = api.ok("guest/cart/get", auth=customer["auth"])
    doubled = str(Decimal(shown) * 2)
    assert (cart["items"][0]["price"], cart["total"], cart["currency"]) == (
        shown,
        doubled,
        currency,
    )
    api.ok("guest/cart/reset", auth=customer["auth"])
    placed = buy(api, customer, pid)
    assert (placed["total"], placed["currency"]) == (shown, currency)
    assert api.admin("order/get", id=placed["order_id"])["price"] == shown
    listed = api.ok("client/order/get_list", auth=customer["auth"])
    assert listed["list"][0]["price"] == shown
    invoice = api.admin("invoice/get", id=placed["invoice_id"])
    assert (invoice["currency"], invoice["total"], invoice["tax"]) == (
        currency,
        shown,
        "0" if currency == "JPY" else "0.000",
    )
    assert invoice["items"][0]["unit_price"] == shown
    api.admin("invoice/mark_as_paid", id=invoice["id"])
    payment = api.admin("invoice/get", id=invoice["id"])["transactions"][0]
    assert (payment["amount"], payment["currency"]) == (shown, currency)


# -- listing and reading -------------------------------------------------------------------


def test_admin_lists_invoices_by_status_client_and_order_page_by_page(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    pid = product(api, setup="after_payment")
    other = another_client(db)
    mine = [buy(api, customer, pid) for _ in range(3)]
    theirs = buy(api, other, pid)
    api.admin("invoice/mark_as_paid", id=mine[0]["invoice_id"])
    listed = api.admin("invoice/get_list")
    assert listed["total"] == 4
    assert [i["id"] for i in listed["list"]] == [
        p["invoice_id"] for p in [theirs, *reversed(mine)]
    ]  # newest first
    paid = api.admin("invoice/get_list", status="paid")
    assert [i["id"] for i in paid["list"]] == [mine[0]["invoice_id"]]
    by_client = api.admin("invoice/get_list", client_id=other["id"])
    assert [i["id"] for i in by_client["list"]] == [theirs["invoice_id"]]
    by_order = api.admin("invoice/get_list", order_id=mine[1]["order_id"])
    assert [i["id"] for i in by_order["list"]] == [mine[1]["invoice_id"]]
    both = api.admin("invoice/get_list", status="unpaid", client_id=customer["id"])
    assert both["total"] == 2
    page = api.admin("invoice/get_list", per_page=3, page=2)
    assert (page["total"], page["page"], page["per_page"], page["pages"]) == (4, 2, 3, 2)
    assert [i["id"] for i in page["list"]] == [mine[0]["invoice_id"]]
    error = admin_error(api, "invoice/get_list", status="late")
    assert "status must be one of unpaid, paid, refunded, canceled" in error["message"]


def test_a_client_sees_only_their_own_invoices(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    pid = product(api, setup="after_payment")
    other = another_client(db)
    mine = buy(api, customer, pid)
    theirs = buy(api, other, pid)
    listed = api.ok("client/invoice/get_list", auth=customer["auth"])
    assert [i["id"] for i in listed["list"]] == [mine["invoice_id"]]
    own = api.ok("client/invoice/get", auth=customer["auth"], id=mine["invoice_id"])
    assert own["hash"] == mine["invoice_hash"]
    foreign = api.error("client/invoice/get", auth=customer["auth"], id=theirs["invoice_id"])
    missing = api.error("client/invoice/get", auth=customer["auth"], id=98765)
    assert foreign == missing == NOT_FOUND
    assert admin_error(api, "invoice/get", id=98765) == NOT_FOUND


def test_a_guest_reads_an_invoice_by_its_hash_only(api: Api, customer: dict[str, Any]) -> None:
    placed = buy(api, customer, product(api, setup="after_payment"))
    invoice = api.guest("invoice/get", hash=placed["invoice_hash"])
    assert invoice["id"] == placed["invoice_id"]
    assert api.error("guest/invoice/get", hash="no-such-hash") == NOT_FOUND


# -- paying --------------------------------------------------------------------------------


def test_the_gateways_on_offer_include_bank_transfer(api: Api) -> None:
    offered = api.guest("invoice/gateways")
    assert {"name": "bank_transfer", "title": "Bank transfer"} in offered


def test_paying_by_bank_transfer_gives_instructions_with_number_and_total(
    api: Api, customer: dict[str, Any]
) -> None:
    placed = buy(api, customer, product(api, setup="after_payment"))
    number = api.admin("invoice/get", id=placed["invoice_id"])["number"]
    started = api.guest("invoice/payment", hash=placed["invoice_hash"], gateway="bank_transfer")
    assert started["gateway"] == "bank_transfer" and started["redirect_url"] is None
    assert number in started["instructions"] and "10.00 USD" in started["instructions"]
    assert api.admin("invoice/get", id=placed["invoice_id"])["gateway"] == "bank_transfer"
    error = api.error("guest/invoice/payment", hash=placed["invoice_hash"], gateway="cash")
    assert error["message"].startswith("gateway must be one of bank_transfer")
    unknown = api.error("guest/invoice/payment", hash="nope", gateway="bank_transfer")
    assert unknown == NOT_FOUND


def test_a_paid_invoice_cannot_be_paid_again(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    placed = buy(api, customer, product(api, setup="after_payment"))
    api.admin("invoice/mark_as_paid", id=placed["invoice_id"])
    before = all_events(db)
    error = api.error("guest/invoice/payment", hash=placed["invoice_hash"], gateway="bank_transfer")
    assert error["message"] == "This invoice is paid; there is nothing to pay"
    again = admin_error(api, "invoice/mark_as_paid", id=placed["invoice_id"])
    assert again["message"] == "Only unpaid invoices can be paid; this invoice is paid"
    assert all_events(db) == before
    assert len(api.admin("invoice/get", id=placed["invoice_id"])["transactions"]) == 1


def test_one_transaction_id_cannot_pay_two_invoices(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    pid = product(api, setup="after_payment")
    first, second = buy(api, customer, pid), buy(api, customer, pid)
    api.admin("invoice/mark_as_paid", id=first["invoice_id"], transaction_id="BANK-42")
    before = all_events(db)
    error = admin_error(
        api, "invoice/mark_as_paid", id=second["invoice_id"], transaction_id="BANK-42"
    )
    assert error == {
        "message": "A payment with this transaction id is already recorded",
        "code": 9999,
    }
    invoice = api.admin("invoice/get", id=second["invoice_id"])
    assert (invoice["status"], invoice["transactions"]) == ("unpaid", [])
    assert api.admin("order/get", id=second["order_id"])["status"] == "pending_setup"
    assert all_events(db) == before


def test_only_an_unpaid_invoice_can_be_canceled(api: Api, customer: dict[str, Any]) -> None:
    pid = product(api, setup="after_payment")
    unpaid, paid = buy(api, customer, pid), buy(api, customer, pid)
    assert api.admin("invoice/cancel", id=unpaid["invoice_id"]) is True
    assert api.admin("invoice/get", id=unpaid["invoice_id"])["status"] == "canceled"
    assert admin_error(api, "invoice/cancel", id=unpaid["invoice_id"])["message"] == (
        "Only unpaid invoices can be canceled; this invoice is canceled"
    )
    error = api.error("guest/invoice/payment", hash=unpaid["invoice_hash"], gateway="bank_transfer")
    assert error["message"] == "This invoice is canceled; there is nothing to pay"
    api.admin("invoice/mark_as_paid", id=paid["invoice_id"])
    assert admin_error(api, "invoice/cancel", id=paid["invoice_id"])["message"] == (
        "Only unpaid invoices can be canceled; this invoice is paid"
    )
    assert admin_error(api, "invoice/cancel", id=98765) == NOT_FOUND


def test_refunding_a_manually_paid_invoice_records_the_refund(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    placed = buy(api, customer, product(api, setup="after_payment"))
    iid = placed["invoice_id"]
    assert admin_error(api, "invoice/refund", id=iid)["message"] == (
        "Only paid invoices can be refunded; this invoice is unpaid"
    )
    api.admin("invoice/mark_as_paid", id=iid)
    assert api.admin("invoice/refund", id=iid, note="Changed their mind") is True
    invoice = api.admin("invoice/get", id=iid)
    assert invoice["status"] == "refunded"
    payment, refund = invoice["transactions"]
    assert (payment["type"], refund["type"]) == ("payment", "refund")
    assert (refund["gateway"], refund["status"], refund["amount"]) == (
        "manual",
        "processed",
        "10.00",
    )
    assert refund["note"] == "Changed their mind"
    assert admin_error(api, "invoice/refund", id=iid)["message"] == (
        "Only paid invoices can be refunded; this invoice is refunded"
    )
    assert len(events(db, "invoice.refunded")) == 1


# -- renewals ------------------------------------------------------------------------------


def test_renewal_invoice_is_issued_once_for_admin_and_client(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    placed = buy(api, customer, monthly(api), period="1M")
    oid = placed["order_id"]
    first = api.admin("invoice/renewal_invoice", order_id=oid)
    assert first != placed["invoice_id"]
    assert api.admin("invoice/renewal_invoice", order_id=oid) == first
    assert api.ok("client/invoice/renewal_invoice", auth=customer["auth"], order_id=oid) == first
    invoice = api.admin("invoice/get", id=first)
    assert invoice["status"] == "unpaid" and invoice["total"] == "5.00"
    (item,) = invoice["items"]
    assert (item["task"], item["period"], item["order_id"]) == ("renew", "1M", oid)
    other = another_client(db)
    error = api.error("client/invoice/renewal_invoice", auth=other["auth"], order_id=oid)
    assert error == {"message": "Order not found", "code": 9999}
    assert admin_error(api, "invoice/renewal_invoice", order_id=98765)["message"] == (
        "Order not found"
    )


def test_paying_a_renewal_extends_from_the_old_expiry_and_lifts_a_non_payment_suspension(
    api: Api, customer: dict[str, Any], clock: FakeClock
) -> None:
    placed = buy(api, customer, monthly(api), period="1M")
    oid = placed["order_id"]
    api.admin("invoice/mark_as_paid", id=placed["invoice_id"])
    old_expiry = at(api.admin("order/get", id=oid)["expires_at"])
    renewal = api.ok("client/invoice/renewal_invoice", auth=customer["auth"], order_id=oid)
    clock.advance(days=40)  # past the expiry: the key stopped, the cron suspended the order
    api.admin("order/suspend", id=oid, reason="Non-payment")
    assert not key_checks(api, oid)
    api.admin("invoice/mark_as_paid", id=renewal)
    order = api.admin("order/get", id=oid)
    assert order["status"] == "active"
    assert at(order["expires_at"]) == parse_period("1M").after(old_expiry)
    assert key_checks(api, oid)
    assert api.admin("invoice/get", id=renewal)["items"][0]["status"] == "executed"
    fresh = api.admin("invoice/renewal_invoice", order_id=oid)
    assert fresh != renewal  # the paid one is done; the next period gets its own


def test_paying_a_renewal_of_an_order_an_admin_suspended_extends_it_but_keeps_it_suspended(
    api: Api, customer: dict[str, Any]
) -> None:
    oid = buy(api, customer, monthly(api), period="1M")["order_id"]
    old_expiry = at(api.admin("order/get", id=oid)["expires_at"])
    renewal = api.admin("invoice/renewal_invoice", order_id=oid)
    api.admin("order/suspend", id=oid, reason="Abuse")
    api.admin("invoice/mark_as_paid", id=renewal)
    order = api.admin("order/get", id=oid)
    assert (order["status"], order["reason"]) == ("suspended", "Abuse")
    assert at(order["expires_at"]) == parse_period("1M").after(old_expiry)


def test_paying_an_after_order_invoice_late_lifts_its_non_payment_suspension(
    api: Api, customer: dict[str, Any], clock: FakeClock
) -> None:
    placed = buy(api, customer, product(api, setup="after_order"))
    clock.advance(days=10)
    api.admin("order/suspend", id=placed["order_id"], reason="Non-payment")
    assert not key_checks(api, placed["order_id"])
    api.admin("invoice/mark_as_paid", id=placed["invoice_id"])
    assert api.admin("order/get", id=placed["order_id"])["status"] == "active"
    assert key_checks(api, placed["order_id"])


def test_a_renewal_of_an_order_that_cannot_renew_is_refused(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    pending = buy(api, customer, product(api, setup="after_payment"))
    error = admin_error(api, "invoice/renewal_invoice", order_id=pending["order_id"])
    assert error["message"] == NO_PERIOD
    monthly_order = buy(api, customer, monthly(api), period="1M")["order_id"]
    api.admin("order/cancel", id=monthly_order)
    error = admin_error(api, "invoice/renewal_invoice", order_id=monthly_order)
    assert error["message"] == (
        "Only active or suspended orders can be renewed; this order is canceled"
    )
    free = api.admin(
        "order/create", client_id=customer["id"], product_id=product_id, period="1M", activate=True
    )
    error = admin_error(api, "invoice/renewal_invoice", order_id=free)
    assert (
        error["message"] == "This order is free, so it has no renewal invoice; an admin renews it"
    )


# -- a failing task ------------------------------------------------------------------------


def test_a_task_that_fails_leaves_the_invoice_paid_and_an_admin_retries_it(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    placed = buy(api, customer, product(api, setup="after_payment"))
    oid, iid = placed["order_id"], placed["invoice_id"]
    api.admin("extension/deactivate", id="serviceapikey")
    assert api.admin("invoice/mark_as_paid", id=iid) is True
    invoice = api.admin("invoice/get", id=iid)
    assert invoice["status"] == "paid"
    (item,) = invoice["items"]
    assert (item["status"], item["attempts"]) == ("failed", 1)
    assert "serviceapikey" in item["error"]
    assert api.admin("order/get", id=oid)["status"] == "pending_setup"
    assert len(events(db, "invoice.paid")) == 1 and len(events(db, "invoice.task_failed")) == 1
    api.admin("extension/activate", id="serviceapikey")
    retried = api.admin("invoice/retry_tasks", id=iid)
    assert [(i["status"], i["attempts"], i["error"]) for i in retried["items"]] == [
        ("executed", 2, None)
    ]
    assert api.admin("order/get", id=oid)["status"] == "active"
    assert key_checks(api, oid)
    unpaid = buy(api, customer, product(api, setup="after_payment", title="Other"))
    assert admin_error(api, "invoice/retry_tasks", id=unpaid["invoice_id"])["message"] == (
        "Only paid invoices run their tasks; this invoice is unpaid"
    )


# -- business settings ---------------------------------------------------------------------


EVERY_SETTING = {
    "company_name": "Keys Ltd",
    "company_email": "billing@keys.example",
    "company_address": "1 Main St\nSpringfield",
    "invoice_due_days": 10,
    "invoice_issue_days_before_expire": 7,
    "invoice_reminder_before_due_days": [3, 1],
    "invoice_reminder_after_due_days": "2, 9",
    "suspend_grace_days": 4,
    "cancel_suspended_after_days": 30,
    "tax_name": "VAT",
    "tax_rate": "7.5",
    "email_includes_key": True,
    "bank_transfer_instructions": "Pay {total} for {number} by {due_date} to {company_name}.",
}


@pytest.mark.parametrize("settings", [{"suspend_grace_days": 3}], indirect=True)
def test_business_settings_have_their_defaults(api: Api) -> None:
    params = api.admin("system/get_params")
    assert set(params) == set(EVERY_SETTING)
    assert params["invoice_due_days"] == 5
    assert params["invoice_issue_days_before_expire"] == 14
    assert params["invoice_reminder_before_due_days"] == []
    assert params["invoice_reminder_after_due_days"] == [5]
    assert params["suspend_grace_days"] == 3  # Settings.suspend_grace_days
    assert params["cancel_suspended_after_days"] == 0
    assert (params["tax_name"], params["tax_rate"]) == ("", "0")
    assert params["email_includes_key"] is False


def test_every_business_setting_can_be_changed(api: Api) -> None:
    saved = api.admin("system/update_params", **EVERY_SETTING)
    assert saved == api.admin("system/get_params")
    assert saved["invoice_reminder_before_due_days"] == [1, 3]
    assert saved["invoice_reminder_after_due_days"] == [2, 9]
    assert saved["tax_rate"] == "7.5"
    expected = {
        k: v for k, v in EVERY_SETTING.items() if not k.startswith(("invoice_rem", "tax_rate"))
    }
    assert {k: saved[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("invoice_due_days", -1),
        ("invoice_due_days", "soon"),
        ("invoice_due_days", True),
        ("invoice_issue_days_before_expire", 366),
        ("invoice_reminder_after_due_days", "1, x"),
        ("invoice_reminder_before_due_days", [0]),
        ("suspend_grace_days", 1.5),
        ("cancel_suspended_after_days", None),
        ("tax_rate", "101"),
        ("tax_rate", "abc"),
        ("tax_name", "x" * 65),
        ("company_name", 12),
        ("company_name", "a\x00b"),
        ("bank_transfer_instructions", "Pay {amount}"),
        ("bank_transfer_instructions", "Pay {total.__class__}"),
        ("bank_transfer_instructions", "Pay {total:>999999999}"),
        ("bank_transfer_instructions", "Pay {total"),
        ("bank_transfer_instructions", "Pay {0}"),
    ],
)
def test_a_bad_setting_is_refused_by_name_and_nothing_is_saved(
    api: Api, db: Database, name: str, value: Any
) -> None:
    before = api.admin("system/get_params")
    events_before = all_events(db)
    good = "company_email" if name != "company_email" else "company_name"
    error = admin_error(api, "system/update_params", **{good: "changed@example.com", name: value})
    assert error["message"].startswith(f"{name}"), error
    assert error["code"] == 9999
    assert api.admin("system/get_params") == before
    assert all_events(db) == events_before


def test_an_unknown_setting_is_refused(api: Api) -> None:
    before = api.admin("system/get_params")
    error = admin_error(api, "system/update_params", tax_name="VAT", colour="blue")
    assert error["message"].startswith("colour is not a setting")
    assert api.admin("system/get_params") == before


def test_the_due_days_setting_sets_the_due_date(
    api: Api, customer: dict[str, Any], clock: FakeClock
) -> None:
    api.admin("system/update_params", invoice_due_days="10")
    placed = buy(api, customer, product(api, setup="after_payment"))
    due = at(api.admin("invoice/get", id=placed["invoice_id"])["due_at"])
    assert (due - clock.now).days == 10


def test_bank_instructions_come_from_the_settings(api: Api, customer: dict[str, Any]) -> None:
    api.admin(
        "system/update_params",
        company_name="Keys Ltd",
        bank_transfer_instructions="IBAN X; {number}; {total}; {due_date}; {company_name}",
    )
    placed = buy(api, customer, product(api, setup="after_payment"))
    started = api.guest("invoice/payment", hash=placed["invoice_hash"], gateway="bank_transfer")
    assert started["instructions"] == "IBAN X; KV-00001; 10.00 USD; 2026-01-20; Keys Ltd"


# -- checkout with a gateway ---------------------------------------------------------------


def test_checkout_with_bank_transfer_returns_the_payment_instructions(
    api: Api, customer: dict[str, Any]
) -> None:
    pid = product(api, setup="after_payment")
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid)
    placed = api.ok("client/cart/checkout", auth=customer["auth"], gateway="bank_transfer")
    assert placed["payment"]["gateway"] == "bank_transfer"
    assert "KV-00001" in placed["payment"]["instructions"]
    assert api.admin("invoice/get", id=placed["invoice_id"])["gateway"] == "bank_transfer"


def test_checkout_of_a_free_cart_with_a_gateway_has_nothing_to_pay(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    api.ok("guest/cart/add_item", auth=customer["auth"], id=product_id)
    placed = api.ok("client/cart/checkout", auth=customer["auth"], gateway="bank_transfer")
    assert (placed["invoice_id"], placed["payment"]) == (None, None)


def test_checkout_with_an_unknown_gateway_changes_nothing(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    pid = product(api, setup="after_payment")
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid)
    before = all_events(db)
    error = api.error("client/cart/checkout", auth=customer["auth"], gateway="cash")
    assert error["message"].startswith("gateway must be one of bank_transfer")
    assert len(api.ok("guest/cart/get", auth=customer["auth"])["items"]) == 1
    assert api.admin("order/get_list")["total"] == 0
    assert invoice_count(db) == 0
    assert all_events(db) == before


# -- events --------------------------------------------------------------------------------


def test_checkout_and_payment_write_their_events_and_refusals_write_none(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    placed = buy(api, customer, product(api, setup="after_payment"))
    iid, oid = placed["invoice_id"], placed["order_id"]
    (created,) = events(db, "invoice.created")
    assert (created.invoice_id, created.client_id) == (iid, customer["id"])
    assert created.data == {"number": "KV-00001", "total": "10.00 USD"}
    assert events(db, "order.activated") == []
    api.admin("invoice/mark_as_paid", id=iid)
    (paid,) = events(db, "invoice.paid")
    (activated,) = events(db, "order.activated")
    assert (paid.invoice_id, activated.order_id) == (iid, oid)
    assert paid.seq < activated.seq and paid.at == activated.at
    before = all_events(db)
    admin_error(api, "invoice/mark_as_paid", id=iid)
    admin_error(api, "invoice/cancel", id=iid)
    assert all_events(db) == before


def test_an_order_row_is_untouched_by_a_refused_payment(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    placed = buy(api, customer, product(api, setup="after_payment"))
    api.admin("invoice/cancel", id=placed["invoice_id"])
    admin_error(api, "invoice/mark_as_paid", id=placed["invoice_id"])
    with db.unit_of_work(read_only=True) as uow:
        order = uow.session.get(Order, placed["order_id"])
        assert order is not None and order.status == "pending_setup"
