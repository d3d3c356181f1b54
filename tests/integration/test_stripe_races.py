"""Stripe delivering one payment several times at once, to a real server, on SQLite and
PostgreSQL: every delivery is answered 200, the invoice is paid once, the key activated once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from tests.api.test_stripe import (
    WEBHOOK,
    count_events,
    invoice_of,
    key_of,
    started,
    stripe_transactions,
)
from tests.conftest import Api
from tests.support import fake_stripe
from tests.support.fake_stripe import FakeStripe, sign, stripe_settings
from tests.support.live_server import serve_in_thread

# The stripe library hands httpx its form body as `data=`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
DELIVERIES = 5


@pytest.fixture
def stripe_api() -> Iterator[FakeStripe]:
    with fake_stripe.running() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, stripe_api: FakeStripe) -> Settings:
    return stripe_settings(settings, stripe_api)


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    """The test's app on a real uvicorn server: its base URL."""
    with serve_in_thread(app) as url:
        yield url


def at_once(url: str, events: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST each event to the webhook from its own thread, all released by one barrier."""
    signed = [(payload, sign(payload)) for payload in (json.dumps(e) for e in events)]
    barrier = threading.Barrier(len(signed))

    def post(payload: str, signature: str) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=30) as client:
            barrier.wait()
            return client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": signature})

    with ThreadPoolExecutor(max_workers=len(signed)) as pool:
        return list(pool.map(lambda pair: post(*pair), signed))


def test_five_concurrent_deliveries_of_one_event_pay_once(
    api: Api, db: Database, server: str, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    for _ in range(3):  # several rounds: a race lost once in a while still shows
        sale = started(api, stripe_api, customer)
        event = stripe_api.paid_event(sale["session"])
        answers = at_once(server, [event] * DELIVERIES)
        assert [a.status_code for a in answers] == [200] * DELIVERIES
        outcomes = sorted(a.json()["outcome"] for a in answers)
        assert outcomes == ["duplicate"] * (DELIVERIES - 1) + ["paid"]
        assert invoice_of(api, sale["invoice_id"])["status"] == "paid"
        assert count_events(db, "invoice.paid", sale["invoice_id"]) == 1
        key = key_of(api, customer, sale["order_id"])
        assert api.guest("serviceapikey/check", key=key) is True
    assert [t.status for t in stripe_transactions(db)] == ["processed"] * 3
    assert count_events(db, "order.activated") == 3


def test_both_paid_event_types_of_one_session_at_once_pay_once(
    api: Api, db: Database, server: str, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = started(api, stripe_api, customer)
    completed = stripe_api.paid_event(sale["session"])
    succeeded = stripe_api.paid_event(
        sale["session"], type="checkout.session.async_payment_succeeded"
    )
    answers = at_once(server, [completed, succeeded] * 3)
    assert [a.status_code for a in answers] == [200] * 6
    assert sorted(a.json()["outcome"] for a in answers) == ["duplicate"] * 5 + ["paid"]
    assert len(stripe_transactions(db)) == 1
    assert count_events(db, "invoice.paid", sale["invoice_id"]) == 1
    assert count_events(db, "order.activated") == 1


def test_concurrent_deliveries_naming_no_invoice_record_one_error(
    api: Api, db: Database, server: str, stripe_api: FakeStripe, customer: dict[str, Any]
) -> None:
    sale = started(api, stripe_api, customer)
    event = stripe_api.paid_event(sale["session"], client_reference_id="987654")
    answers = at_once(server, [event] * DELIVERIES)
    assert [a.status_code for a in answers] == [200] * DELIVERIES
    assert sorted(a.json()["outcome"] for a in answers) == ["duplicate"] * 4 + ["error"]
    assert [t.status for t in stripe_transactions(db)] == ["error"]
    assert invoice_of(api, sale["invoice_id"])["status"] == "unpaid"
