"""Stripe (DESIGN.md section 9): Checkout Sessions, the signed webhook, refunds.

Every test talks to a real local fake of Stripe's API (`tests/support/fake_stripe.py`) and
signs its webhook events as Stripe does; nothing of Keyvend's own is mocked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from keyvend.app import build_database, create_app
from keyvend.config import Settings
from keyvend.db.models import Event, Transaction
from keyvend.db.unit_of_work import Database
from keyvend.observability.logs import configure_logging
from tests.api.test_cart import paid_product
from tests.api.test_outage import UNREACHABLE
from tests.conftest import Api
from tests.support import fake_stripe
from tests.support.fake_stripe import (
    PUBLIC_URL,
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    sign,
    stripe_settings,
)
from tests.support.live_server import free_port

# The stripe library hands httpx its form body as `data=`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
WEBHOOK = "/webhooks/stripe"
SESSIONS = "/v1/checkout/sessions"
REFUNDS = "/v1/refunds"


@pytest.fixture
def stripe_api() -> Iterator[FakeStripe]:
    with fake_stripe.running() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, stripe_api: FakeStripe) -> Settings:
    """The usual test settings with Stripe on, against the fake."""
    return stripe_settings(settings, stripe_api)


# -- helpers -------------------------------------------------------------------------------


def bought(api: Api, customer: dict[str, Any], *, price: str = "19.00") -> dict[str, Any]:
    """A checkout of one after_payment product: its result (order, invoice id and hash)."""
    pid = paid_product(api, setup="after_payment", price=price)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid)
    return dict(api.ok("client/cart/checkout", auth=customer["auth"]))


def pay_with_stripe(api: Api, invoice_hash: str) -> dict[str, Any]:
    return dict(api.guest("invoice/payment", hash=invoice_hash, gateway="stripe"))


def session_of(stripe_api: FakeStripe, redirect_url: str) -> str:
    """The id of the Checkout Session whose page is `redirect_url`."""
    return next(s for s, session in stripe_api.sessions.items() if session["url"] == redirect_url)


def started(api: Api, stripe_api: FakeStripe, customer: dict[str, Any]) -> dict[str, Any]:
    """A checkout whose payment with Stripe has started: the checkout result plus `session`."""
    result = bought(api, customer)
    payment = pay_with_stripe(api, result["invoice_hash"])
    return {**result, "session": session_of(stripe_api, payment["redirect_url"])}


def deliver(
    client: TestClient,
    event: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> httpx.Response:
    """POST `event` to the webhook as Stripe does, signed with `secret`."""
    payload = json.dumps(event)
    return client.post(
        WEBHOOK,
        content=payload,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload, secret, timestamp=timestamp),
        },
    )


def invoice_of(api: Api, invoice_id: int) -> dict[str, Any]:
    return dict(api.admin("invoice/get", id=invoice_id))


def key_of(api: Api, customer: dict[str, Any], order_id: int) -> str:
    return str(api.ok("client/order/service", auth=customer["auth"], id=order_id)["api_key"])


def count_events(db: Database, type: str, invoice_id: int | None = None) -> int:
    query = select(func.count(Event.seq)).where(Event.type == type)
    if invoice_id is not None:
        query = query.where(Event.invoice_id == invoice_id)
    with db.unit_of_work(read_only=True) as uow:
        return int(uow.session.scalar(query) or 0)


def stripe_transactions(db: Database) -> list[Transaction]:
    with db.unit_of_work(read_only=True) as uow:
        query = select(Transaction).where(Transaction.gateway == "stripe").order_by(Transaction.id)
        return list(uow.session.scalars(query).all())


# -- starting a payment --------------------------------------------------------------------


def test_paying_with_stripe_creates_a_checkout_session_for_the_invoice_total(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    assert {"name": "stripe", "title": "Card (Stripe)"} in api.guest("invoice/gateways")
    result = bought(api, customer)
    invoice = invoice_of(api, result["invoice_id"])
    payment = pay_with_stripe(api, result["invoice_hash"])
    (sent,) = stripe_api.to(SESSIONS)
    session = stripe_api.sessions[session_of(stripe_api, payment["redirect_url"])]
    assert payment["gateway"] == "stripe"
    assert payment["redirect_url"] == session["url"]
    assert sent.form == {
        "mode": "payment",
        "client_reference_id": str(invoice["id"]),
        "metadata[invoice_id]": str(invoice["id"]),
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1900",
        "line_items[0][price_data][product_data][name]": f"Invoice {invoice['number']}",
        "line_items[0][quantity]": "1",
        "success_url": f"{PUBLIC_URL}/invoice/{invoice['hash']}?paid=1",
        "cancel_url": f"{PUBLIC_URL}/invoice/{invoice['hash']}",
    }
    assert sent.headers["idempotency-key"] == f"keyvend-invoice-{invoice['id']}-1900"
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert invoice_of(api, invoice["id"])["gateway"] == "stripe"
    assert invoice_of(api, invoice["id"])["status"] == "unpaid"


def test_a_slow_stripe_is_waited_for_beyond_the_database_timeout(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    # Calls that talk to a gateway may take GATEWAY_WAIT seconds more than the database
    # timeout (which bounds the others on PostgreSQL): a slow Stripe is not a 503.
    api.client.app.state.db.timeout = 0.2
    stripe_api.delay = 0.6
    result = bought(api, customer)
    payment = pay_with_stripe(api, result["invoice_hash"])
    assert payment["redirect_url"].startswith("https://")


def test_checkout_with_the_stripe_gateway_answers_the_checkout_page(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    pid = paid_product(api, setup="after_payment", price="7.50")
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid, quantity=2)
    result = api.ok("client/cart/checkout", auth=customer["auth"], gateway="stripe")
    (sent,) = stripe_api.to(SESSIONS)
    assert result["payment"]["gateway"] == "stripe"
    assert result["payment"]["redirect_url"].startswith("https://checkout.stripe.test/")
    assert sent.form["line_items[0][price_data][unit_amount]"] == "1500"
    assert sent.form["client_reference_id"] == str(result["invoice_id"])


def test_the_amount_is_the_taxed_total_in_minor_units(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    api.admin("system/update_params", tax_rate="19")
    result = bought(api, customer, price="9.99")
    assert invoice_of(api, result["invoice_id"])["total"] == "11.89"  # 9.99 + 1.90
    pay_with_stripe(api, result["invoice_hash"])
    assert stripe_api.to(SESSIONS)[0].form["line_items[0][price_data][unit_amount]"] == "1189"


def test_asking_to_pay_twice_reuses_the_checkout_session(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    result = bought(api, customer)
    first = pay_with_stripe(api, result["invoice_hash"])
    second = pay_with_stripe(api, result["invoice_hash"])
    assert first == second
    keys = {r.headers["idempotency-key"] for r in stripe_api.to(SESSIONS)}
    assert len(stripe_api.to(SESSIONS)) == 2 and len(keys) == 1
    assert len(stripe_api.sessions) == 1


def test_a_stripe_refusal_at_payment_start_is_a_clear_error_and_changes_nothing(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    result = bought(api, customer)
    stripe_api.fail(500, "Something went wrong on Stripe's end.", type="api_error", code=None)
    error = api.error("guest/invoice/payment", hash=result["invoice_hash"], gateway="stripe")
    assert error == {
        "message": "Stripe refused to start the payment (HTTP 500): "
        "Something went wrong on Stripe's end.",
        "code": 9999,
    }
    invoice = invoice_of(api, result["invoice_id"])
    assert (invoice["status"], invoice["gateway"]) == ("unpaid", None)


def test_stripe_out_of_reach_at_payment_start_is_a_clear_error_and_changes_nothing(
    api: Api, settings: Settings, db: Database, customer: dict[str, Any]
) -> None:
    result = bought(api, customer)
    dead = settings.model_copy(update={"stripe_api_base": f"http://127.0.0.1:{free_port()}"})
    with TestClient(create_app(dead, database=db)) as down:
        response = down.post(
            "/api/guest/invoice/payment",
            json={"hash": result["invoice_hash"], "gateway": "stripe"},
        )
    assert response.json() == {
        "result": None,
        "error": {
            "message": "Stripe could not be reached to start the payment; please try again",
            "code": 9999,
        },
    }
    invoice = invoice_of(api, result["invoice_id"])
    assert (invoice["status"], invoice["gateway"]) == ("unpaid", None)


# -- the webhook ---------------------------------------------------------------------------


def test_a_signed_completed_session_pays_the_invoice_and_activates_the_key(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = started(api, stripe_api, customer)
    event = stripe_api.paid_event(sale["session"])
    response = deliver(api.client, event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "paid"}
    invoice = invoice_of(api, sale["invoice_id"])
    assert invoice["status"] == "paid" and invoice["gateway"] == "stripe"
    (payment,) = invoice["transactions"]
    assert payment["txn_id"] == event["data"]["object"]["payment_intent"]
    assert (payment["gateway"], payment["type"], payment["status"]) == (
        "stripe",
        "payment",
        "processed",
    )
    assert (payment["amount"], payment["currency"], payment["note"]) == (
        "19.00",
        "USD",
        event["id"],
    )
    assert api.admin("order/get", id=sale["order_id"])["status"] == "active"
    assert api.guest("serviceapikey/check", key=key_of(api, customer, sale["order_id"])) is True


def test_an_async_payment_pays_when_it_succeeds_not_when_the_session_completes(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = started(api, stripe_api, customer)
    pending = stripe_api.paid_event(sale["session"], payment_status="unpaid")
    assert deliver(api.client, pending).json() == {"received": True, "outcome": "ignored"}
    assert invoice_of(api, sale["invoice_id"])["status"] == "unpaid"
    succeeded = stripe_api.paid_event(
        sale["session"], type="checkout.session.async_payment_succeeded"
    )
    assert deliver(api.client, succeeded).json() == {"received": True, "outcome": "paid"}
    assert invoice_of(api, sale["invoice_id"])["status"] == "paid"


def test_a_session_without_a_payment_intent_is_recorded_under_the_session_id(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = started(api, stripe_api, customer)
    event = stripe_api.paid_event(sale["session"], payment_intent=None)
    assert deliver(api.client, event).json()["outcome"] == "paid"
    (payment,) = invoice_of(api, sale["invoice_id"])["transactions"]
    assert payment["txn_id"] == sale["session"]


def test_the_same_event_delivered_again_is_acknowledged_and_pays_once(
    api: Api, db: Database, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = started(api, stripe_api, customer)
    event = stripe_api.paid_event(sale["session"])
    assert deliver(api.client, event).json()["outcome"] == "paid"
    again = deliver(api.client, event)
    assert again.status_code == 200
    assert again.json() == {"received": True, "outcome": "duplicate"}
    # The same session reported by its other event type is the same payment too.
    other = {**event, "id": "evt_other", "type": "checkout.session.async_payment_succeeded"}
    assert deliver(api.client, other).json()["outcome"] == "duplicate"
    assert [t.status for t in stripe_transactions(db)] == ["processed"]
    assert count_events(db, "invoice.paid", sale["invoice_id"]) == 1
    assert count_events(db, "order.activated") == 1
    assert api.guest("serviceapikey/check", key=key_of(api, customer, sale["order_id"])) is True


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"amount_total": 1800}, "Amount 1800 differs from the invoice total 1900"),
        ({"currency": "eur"}, "Currency eur differs from the invoice's USD"),
    ],
)
def test_a_payment_that_does_not_match_the_invoice_is_recorded_as_an_error(
    api: Api,
    db: Database,
    stripe_api: FakeStripe,
    customer: dict[str, Any],
    change: dict[str, Any],
    words: str,
) -> None:
    sale = started(api, stripe_api, customer)
    response = deliver(api.client, stripe_api.paid_event(sale["session"], **change))
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "error"}
    invoice = invoice_of(api, sale["invoice_id"])
    assert invoice["status"] == "unpaid"
    (payment,) = invoice["transactions"]
    assert payment["status"] == "error" and words in payment["error"]
    assert api.admin("order/get", id=sale["order_id"])["status"] == "pending_setup"
    assert count_events(db, "invoice.paid") == 0


@pytest.mark.parametrize("reference", ["987654", "abc", "99999999999", "", None])
def test_a_payment_for_no_known_invoice_is_acknowledged_as_an_error_transaction(
    api: Api, db: Database, stripe_api: FakeStripe, customer: dict[str, Any], reference: str | None
) -> None:
    sale = started(api, stripe_api, customer)
    event = stripe_api.paid_event(sale["session"], client_reference_id=reference)
    response = deliver(api.client, event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "error"}
    (payment,) = stripe_transactions(db)
    assert (payment.invoice_id, payment.status) == (None, "error")
    assert payment.error == "No invoice matches this payment"
    assert invoice_of(api, sale["invoice_id"])["status"] == "unpaid"


@pytest.mark.parametrize(
    "event_type", ["payment_intent.succeeded", "checkout.session.expired", "charge.refunded"]
)
def test_other_event_types_are_acknowledged_and_ignored(
    api: Api, db: Database, stripe_api: FakeStripe, customer: dict[str, Any], event_type: str
) -> None:
    sale = started(api, stripe_api, customer)
    event = stripe_api.paid_event(sale["session"], type=event_type)
    response = deliver(api.client, event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "ignored"}
    assert stripe_transactions(db) == []
    assert invoice_of(api, sale["invoice_id"])["status"] == "unpaid"


def test_a_bad_signature_is_refused_and_nothing_changes(
    api: Api, db: Database, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = started(api, stripe_api, customer)
    event = stripe_api.paid_event(sale["session"])
    response = deliver(api.client, event, secret="whsec_someone_else")
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid signature: No signatures found matching the expected signature "
        "for payload"
    }
    # A body altered after signing fails the same way.
    payload = json.dumps(event)
    altered = payload.replace('"amount_total": 1900', '"amount_total": 1')
    response = api.client.post(
        WEBHOOK, content=altered, headers={"Stripe-Signature": sign(payload)}
    )
    assert response.status_code == 400
    assert stripe_transactions(db) == []
    assert invoice_of(api, sale["invoice_id"])["status"] == "unpaid"


@pytest.mark.parametrize("header", [None, "", "t=abc", "v1=deadbeef"])
def test_a_missing_or_malformed_signature_header_is_refused(
    api: Api, db: Database, stripe_api: FakeStripe, customer: dict[str, Any], header: str | None
) -> None:
    sale = started(api, stripe_api, customer)
    headers = {} if header is None else {"Stripe-Signature": header}
    payload = json.dumps(stripe_api.paid_event(sale["session"]))
    response = api.client.post(WEBHOOK, content=payload, headers=headers)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert stripe_transactions(db) == []


def test_a_signature_older_than_five_minutes_is_refused(
    api: Api, db: Database, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = started(api, stripe_api, customer)
    event = stripe_api.paid_event(sale["session"])
    stale = deliver(api.client, event, timestamp=int(time.time()) - 301)
    assert stale.status_code == 400
    assert "Timestamp outside the tolerance zone" in stale.json()["error"]
    assert stripe_transactions(db) == []
    assert invoice_of(api, sale["invoice_id"])["status"] == "unpaid"
    # Within the five minutes the same event is taken.
    assert deliver(api.client, event, timestamp=int(time.time()) - 200).status_code == 200


@pytest.mark.parametrize("body", ["not json", "[]", "42", '{"object": "v2.core.event"}'])
def test_a_signed_body_that_is_no_event_is_refused(api: Api, db: Database, body: str) -> None:
    response = api.client.post(WEBHOOK, content=body, headers={"Stripe-Signature": sign(body)})
    assert response.status_code == 400
    assert response.json() == {"error": "The body is not a Stripe event"}
    assert stripe_transactions(db) == []


def test_the_webhook_is_not_found_when_stripe_is_not_configured(
    settings: Settings, db: Database
) -> None:
    off = settings.model_copy(update={"stripe_secret_key": None, "stripe_webhook_secret": None})
    payload = json.dumps(fake_stripe.event("checkout.session.completed", {}))
    with TestClient(create_app(off, database=db)) as client:
        response = client.post(
            WEBHOOK, content=payload, headers={"Stripe-Signature": sign(payload)}
        )
        assert response.status_code == 404
        assert response.json() == {"error": "Stripe is not configured"}
        gateways = client.post("/api/guest/invoice/gateways").json()["result"]
        assert [g["name"] for g in gateways] == ["bank_transfer"]


@pytest.fixture(params=sorted(UNREACHABLE))
def database_down(
    request: pytest.FixtureRequest, tmp_path: Path, stripe_api: FakeStripe
) -> Iterator[TestClient]:
    url = UNREACHABLE[request.param].format(tmp=tmp_path)
    base = Settings(
        data_dir=tmp_path, database_url=url, secret_key="s" * 48, rate_limit_enabled=False
    )
    down = stripe_settings(base, stripe_api)
    with TestClient(create_app(down, database=build_database(down))) as client:
        yield client


def test_a_paid_event_while_the_database_is_down_answers_503_so_stripe_retries(
    database_down: TestClient,
) -> None:
    session = {
        "id": "cs_test_x",
        "object": "checkout.session",
        "payment_status": "paid",
        "payment_intent": "pi_test_x",
        "client_reference_id": "1",
        "amount_total": 1900,
        "currency": "usd",
    }
    response = deliver(database_down, fake_stripe.event("checkout.session.completed", session))
    assert response.status_code == 503
    assert response.json() == {"error": "The payment could not be recorded; please retry"}
    assert int(response.headers["retry-after"]) >= 1


# -- refunds -------------------------------------------------------------------------------


def paid_sale(api: Api, stripe_api: FakeStripe, customer: dict[str, Any]) -> dict[str, Any]:
    """A checkout paid through Stripe's webhook: the checkout result plus `payment_intent`."""
    sale = started(api, stripe_api, customer)
    event = stripe_api.paid_event(sale["session"])
    assert deliver(api.client, event).json()["outcome"] == "paid"
    return {**sale, "payment_intent": event["data"]["object"]["payment_intent"]}


def test_refunding_a_stripe_paid_invoice_refunds_its_payment_intent(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = paid_sale(api, stripe_api, customer)
    assert api.admin("invoice/refund", id=sale["invoice_id"], note="asked") is True
    (sent,) = stripe_api.to(REFUNDS)
    assert sent.form == {"payment_intent": sale["payment_intent"], "amount": "1900"}
    assert sent.headers["idempotency-key"] == f"keyvend-refund-{sale['invoice_id']}-1900"
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"
    invoice = invoice_of(api, sale["invoice_id"])
    assert invoice["status"] == "refunded"
    refund = invoice["transactions"][-1]
    assert (refund["type"], refund["gateway"], refund["amount"]) == ("refund", "stripe", "19.00")
    assert refund["txn_id"].startswith("re_test_")


def test_a_refund_stripe_refuses_is_an_error_and_the_invoice_stays_paid(
    api: Api, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = paid_sale(api, stripe_api, customer)
    stripe_api.fail(400, "Charge ch_1 has already been refunded.", type="invalid_request_error")
    error = admin_error(api, "invoice/refund", id=sale["invoice_id"])
    assert error == {
        "message": "Stripe refused to refund the payment (HTTP 400): "
        "Charge ch_1 has already been refunded.",
        "code": 9999,
    }
    invoice = invoice_of(api, sale["invoice_id"])
    assert invoice["status"] == "paid"
    assert [t["type"] for t in invoice["transactions"]] == ["payment"]
    # Once Stripe takes it, the retry (same idempotency key) refunds.
    stripe_api.recover()
    assert api.admin("invoice/refund", id=sale["invoice_id"]) is True
    keys = {r.headers["idempotency-key"] for r in stripe_api.to(REFUNDS)}
    assert len(keys) == 1
    assert invoice_of(api, sale["invoice_id"])["status"] == "refunded"


def admin_error(api: Api, path: str, **params: Any) -> dict[str, Any]:
    return dict(api.error(f"admin/{path}", auth=("admin", api.admin_token), **params))


# -- secrets -------------------------------------------------------------------------------


def test_the_secret_key_and_webhook_secret_never_show_in_answers_or_logs(
    api: Api,
    settings: Settings,
    stripe_api: FakeStripe,
    customer: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings.model_copy(update={"log_format": "json", "log_level": "debug"}))
    try:
        capsys.readouterr()
        sale = started(api, stripe_api, customer)
        payload = json.dumps(stripe_api.paid_event(sale["session"]))
        signatures = [
            sign(payload),
            sign(payload, "whsec_wrong"),
            sign(payload, timestamp=int(time.time()) - 999),
        ]
        answers = [
            api.client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": signature})
            for signature in signatures
        ]
        # Stripe's message names the key it was sent: Keyvend never passes the key on.
        stripe_api.fail(
            401, f"Invalid API Key provided: {SECRET_KEY}", type="invalid_request_error"
        )
        answers.append(admin_post(api, "invoice/refund", id=sale["invoice_id"]))
        answers.append(admin_post(api, "invoice/get", id=sale["invoice_id"]))
        logged = capsys.readouterr().err
    finally:
        configure_logging(settings)
    assert [a.status_code for a in answers] == [200, 400, 400, 200, 200]
    assert "Invalid API Key provided: [secret key]" in answers[3].json()["error"]["message"]
    assert "stripe payment paid" in logged  # the logs were captured
    for text in (*(a.text for a in answers), logged):
        assert SECRET_KEY not in text
        assert WEBHOOK_SECRET not in text
    for signature in signatures:
        assert signature.split("v1=")[1] not in logged


def admin_post(api: Api, path: str, **params: Any) -> httpx.Response:
    return api.client.post(f"/api/admin/{path}", json=params, auth=("admin", api.admin_token))
