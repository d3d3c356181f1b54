"""Webhook deliveries against a real local HTTP receiver, on SQLite and PostgreSQL.

Real changes queue the deliveries (a client signs up, an admin edits one); the delivery job
(`webhook_delivery.deliver_due`, the worker's `Dispatcher`) sends them over HTTP. Time is the
FakeClock's: a retry comes due when the test moves the clock, never after a sleep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from keyvend import worker
from keyvend.adapters.webhook_sender import HttpxSender
from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.models import Event, Webhook, WebhookDelivery
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import Conflict
from keyvend.observability import metrics
from keyvend.schemas.account import ClientCreate, ClientUpdate
from keyvend.schemas.webhook import WebhookCreate, WebhookDeliveryPublic, WebhookUpdate
from keyvend.services import client as clients
from keyvend.services import cron, secret, webhook, webhook_delivery
from keyvend.services.pagination import PageRequest
from tests.conftest import FakeClock
from tests.support.webhook_receiver import WebhookReceiver, verify

SENDER = HttpxSender()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def other_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def hook(db: Database, url: str, events: list[str] | None = None) -> tuple[int, str]:
    made = webhook.create(db, WebhookCreate(url=url, events=events or ["*"]))
    return made.id, made.secret


def sign_up(db: Database, email: str = "jo@example.com") -> int:
    data = ClientCreate(email=email, first_name="Jo", password="jo-pass-123")
    return clients.create(db, data).id


def log(db: Database, webhook_id: int) -> list[WebhookDeliveryPublic]:
    return webhook.deliveries(db, webhook_id, page=PageRequest(1, 1000)).list


def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll `condition` until it holds; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def deliveries_in_total(db: Database) -> int:
    with db.unit_of_work(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count(WebhookDelivery.id))) or 0)


# -- what is sent ------------------------------------------------------------------------------


def test_a_delivery_is_signed_so_that_the_receiver_verifies_it_with_the_secret(
    db: Database, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    webhook_id, signing_secret = hook(db, receiver.url)
    client_id = sign_up(db)
    [delivery] = log(db, webhook_id)
    assert webhook_delivery.deliver_due(db, SENDER) == [delivery.id]
    [got] = receiver.wait_for(1)
    assert verify(signing_secret, got)
    assert not verify(webhook.create(db, WebhookCreate(url=receiver.url, events=["*"])).secret, got)
    assert got.headers["webhook-id"] == str(delivery.id)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("Keyvend")
    assert int(got.headers["webhook-timestamp"]) > 1_700_000_000
    with db.unit_of_work(read_only=True) as uow:
        event = uow.session.scalars(select(Event).where(Event.type == "client.created")).one()
    assert got.json == {
        "type": "client.created",
        "timestamp": clock.now.isoformat(),
        "data": {
            **event.data,
            "client_id": client_id,
            "order_id": None,
            "invoice_id": None,
            "seq": event.seq,
        },
    }
    assert signing_secret not in got.body.decode() and "jo-pass-123" not in got.body.decode()
    [done] = log(db, webhook_id)
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 1, 200)
    assert done.delivered_at == clock.now and done.attempt_log[0].status_code == 200


def test_the_signature_also_verifies_with_the_standardwebhooks_package_when_installed(
    db: Database, receiver: WebhookReceiver
) -> None:
    """Checked by hand in the test above; the reference library, only if it is present."""
    try:
        from standardwebhooks import Webhook as Reference  # type: ignore[import-not-found]
    except ImportError:
        reference = None
    else:
        reference = Reference
    webhook_id, signing_secret = hook(db, receiver.url)
    webhook.send_test(db, webhook_id)
    webhook_delivery.deliver_due(db, SENDER)
    [got] = receiver.wait_for(1)
    assert verify(signing_secret, got)
    if reference is not None:
        assert reference(signing_secret).verify(got.body, got.headers) == got.json


def test_a_500_is_retried_after_a_few_seconds_and_then_delivered(
    db: Database, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    webhook_id, signing_secret = hook(db, receiver.url)
    receiver.answer(500)
    sign_up(db)
    assert webhook_delivery.deliver_due(db, SENDER) == []
    [waiting] = log(db, webhook_id)
    assert (waiting.status, waiting.attempts, waiting.last_status_code) == ("pending", 1, 500)
    assert waiting.next_attempt_at == clock.now + timedelta(seconds=5)
    assert waiting.last_error == "HTTP 500: ok" and waiting.last_duration_ms is not None
    assert webhook_delivery.deliver_due(db, SENDER) == []  # not due yet
    assert len(receiver.received) == 1
    clock.advance(seconds=5)
    assert webhook_delivery.deliver_due(db, SENDER) == [waiting.id]
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(waiting.id)
    assert first.body == second.body and verify(signing_secret, second)
    [done] = log(db, webhook_id)
    assert (done.status, done.attempts, done.last_error) == ("delivered", 2, None)
    assert [a.status_code for a in done.attempt_log] == [200, 500]  # newest first


def test_retries_grow_for_more_than_a_day_then_the_delivery_fails(
    db: Database, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    webhook_id, _ = hook(db, receiver.url)
    receiver.answer(*[503] * 20)
    webhook.send_test(db, webhook_id)
    waits = []
    for _ in range(webhook_delivery.MAX_ATTEMPTS):
        assert webhook_delivery.deliver_due(db, SENDER) == []
        [row] = log(db, webhook_id)
        if row.status == "failed":
            break
        waits.append(row.next_attempt_at - clock.now)
        clock.now = row.next_attempt_at
    assert waits[0] <= timedelta(seconds=10)
    assert waits == sorted(waits) and len(set(waits)) == len(waits)  # growing
    assert sum(waits, timedelta()) >= timedelta(hours=24)
    [row] = log(db, webhook_id)
    assert (row.status, row.attempts) == ("failed", webhook_delivery.MAX_ATTEMPTS)
    assert len(row.attempt_log) == webhook_delivery.MAX_ATTEMPTS
    clock.advance(days=2)
    assert webhook_delivery.deliver_due(db, SENDER) == []
    assert len(receiver.received) == webhook_delivery.MAX_ATTEMPTS


def test_a_receiver_that_is_down_is_retried_like_a_refusal(db: Database, clock: FakeClock) -> None:
    with WebhookReceiver() as gone:
        url = gone.url
    webhook_id, _ = hook(db, url)
    webhook.send_test(db, webhook_id)
    assert webhook_delivery.deliver_due(db, SENDER) == []
    [row] = log(db, webhook_id)
    assert (row.status, row.last_status_code) == ("pending", None)
    assert row.last_error and "ConnectError" in row.last_error
    assert row.attempt_log[0].status_code is None


# -- who gets what -----------------------------------------------------------------------------


def test_each_webhook_gets_only_the_event_types_it_chose(
    db: Database, receiver: WebhookReceiver, other_receiver: WebhookReceiver
) -> None:
    signups, _ = hook(db, receiver.url, ["client.created"])
    edits, _ = hook(db, other_receiver.url, ["client.updated", "order.created"])
    client_id = sign_up(db)
    clients.update(db, client_id, ClientUpdate(first_name="Joanna"))
    assert [d.event_type for d in log(db, signups)] == ["client.created"]
    assert [d.event_type for d in log(db, edits)] == ["client.updated"]
    webhook_delivery.deliver_due(db, SENDER)
    assert [r.json["type"] for r in receiver.wait_for(1)] == ["client.created"]
    assert [r.json["type"] for r in other_receiver.wait_for(1)] == ["client.updated"]


def test_a_disabled_webhook_gets_nothing(
    db: Database, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    webhook_id, _ = hook(db, receiver.url)
    webhook.update(db, webhook_id, WebhookUpdate(enabled=False))
    sign_up(db)
    assert log(db, webhook_id) == []
    webhook.update(db, webhook_id, WebhookUpdate(enabled=True))
    sign_up(db, "zoe@example.com")
    webhook.update(db, webhook_id, WebhookUpdate(enabled=False))
    assert webhook_delivery.deliver_due(db, SENDER) == []  # queued, but held while disabled
    assert receiver.received == []


def test_deliveries_are_written_in_the_events_transaction(
    db: Database, receiver: WebhookReceiver
) -> None:
    hook(db, receiver.url)
    with db.unit_of_work() as uow:
        uow.record("client.updated", client_id=1, data={"changed": ["first_name"]})
        uow.flush()
        assert uow.session.scalar(select(func.count(WebhookDelivery.id))) == 1
    assert deliveries_in_total(db) == 0  # rolled back with the change
    sign_up(db)
    with pytest.raises(Conflict):  # the same email again: refused, so nothing is queued
        sign_up(db)
    assert deliveries_in_total(db) == 1
    webhook_delivery.deliver_due(db, SENDER)
    assert [r.json["type"] for r in receiver.wait_for(1)] == ["client.created"]


# -- slow receivers ----------------------------------------------------------------------------


def test_a_receiver_that_never_answers_does_not_delay_another_endpoint(
    db: Database, receiver: WebhookReceiver, other_receiver: WebhookReceiver
) -> None:
    hung, _ = hook(db, receiver.url)
    quick, _ = hook(db, other_receiver.url)
    receiver.hang()
    dispatcher = webhook_delivery.Dispatcher(db, SENDER)
    try:
        sign_up(db)
        dispatcher.tick()
        receiver.wait_hanging(1)
        other_receiver.wait_for(1)
        until(lambda: [d.status for d in log(db, quick)] == ["delivered"])
        until(lambda: dispatcher.in_flight() == 1)  # only the hung one
        sign_up(db, "zoe@example.com")  # the hung one's second delivery waits for its first
        dispatcher.tick()
        assert [r.json["type"] for r in other_receiver.wait_for(2)] == ["client.created"] * 2
        assert receiver.hanging == 1 and len(receiver.received) == 1
        assert [d.status for d in log(db, hung)] == ["pending", "sending"]
    finally:
        receiver.release()
        dispatcher.close()
    assert {d.status for d in log(db, quick)} == {"delivered"}


def test_the_worker_delivers_webhooks_in_the_background(
    settings: Settings, clock: FakeClock, db: Database, receiver: WebhookReceiver
) -> None:
    _, signing_secret = hook(db, receiver.url)
    hourly = settings.model_copy(update={"worker_interval": 3600.0})
    background = worker.Worker(build_database(hourly, clock), hourly)
    background.start()
    try:
        assert background.cycle_done.wait(15)
        sign_up(db)
        [got] = receiver.wait_for(1)
        assert got.json["type"] == "client.created" and verify(signing_secret, got)
    finally:
        background.stop()


def test_keyvend_cron_delivers_the_due_webhooks_once(
    db: Database, receiver: WebhookReceiver
) -> None:
    webhook_id, _ = hook(db, receiver.url)
    sign_up(db)
    [delivery] = log(db, webhook_id)
    assert cron.run(db, webhooks=SENDER)["webhooks_sent"] == [delivery.id]
    assert cron.run(db, webhooks=SENDER)["webhooks_sent"] == []
    assert len(receiver.wait_for(1)) == 1


def test_a_dead_receiver_costs_cron_one_attempt_not_one_per_delivery(
    db: Database, receiver: WebhookReceiver
) -> None:
    webhook_id, _ = hook(db, receiver.url)
    receiver.answer(500, 500, 500)
    for n in range(3):
        sign_up(db, f"c{n}@example.com")
    assert webhook_delivery.deliver_due(db, SENDER) == []
    assert len(receiver.received) == 1
    assert sorted(d.attempts for d in log(db, webhook_id)) == [0, 0, 1]


# -- by hand -----------------------------------------------------------------------------------


def test_a_manual_retry_sends_the_delivery_again_now(
    db: Database, receiver: WebhookReceiver
) -> None:
    webhook_id, _ = hook(db, receiver.url)
    receiver.answer(500)
    webhook.send_test(db, webhook_id)
    webhook_delivery.deliver_due(db, SENDER)
    [waiting] = log(db, webhook_id)
    assert waiting.status == "pending" and webhook_delivery.deliver_due(db, SENDER) == []
    assert webhook.retry(db, waiting.id) is True
    assert webhook_delivery.deliver_due(db, SENDER) == [waiting.id]
    webhook.retry(db, waiting.id)  # a delivered one can be sent again too
    assert webhook_delivery.deliver_due(db, SENDER) == [waiting.id]
    assert [r.headers["webhook-id"] for r in receiver.wait_for(3)] == [str(waiting.id)] * 3


def test_the_test_ping_is_a_signed_webhook_test_event(
    db: Database, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    webhook_id, signing_secret = hook(db, receiver.url, ["order.created"])
    delivery_id = webhook.send_test(db, webhook_id)
    assert webhook_delivery.deliver_due(db, SENDER) == [delivery_id]
    [got] = receiver.wait_for(1)
    assert verify(signing_secret, got) and got.headers["webhook-id"] == str(delivery_id)
    assert got.json["type"] == "webhook.test" and got.json["timestamp"] == clock.now.isoformat()
    assert got.json["data"]["webhook_id"] == webhook_id
    assert log(db, webhook_id)[0].event_seq is None


# -- secrets -----------------------------------------------------------------------------------


def test_secret_rotation_re_encrypts_the_signing_secrets(
    db: Database, settings: Settings, receiver: WebhookReceiver
) -> None:
    webhook_id, signing_secret = hook(db, receiver.url)
    with db.unit_of_work(read_only=True) as uow:
        before = uow.session.get_one(Webhook, webhook_id).secret_ciphertext
    secret.record(db, settings)
    secret.rotate(db, settings, "rotated-secret-" + "y" * 40)
    with db.unit_of_work(read_only=True) as uow:
        after = uow.session.get_one(Webhook, webhook_id).secret_ciphertext
        assert after != before and uow.vault.decrypt_key(after) == signing_secret
    webhook.send_test(db, webhook_id)
    webhook_delivery.deliver_due(db, SENDER)
    assert verify(signing_secret, receiver.wait_for(1)[0])


def test_the_secret_is_stored_encrypted_and_never_listed(
    db: Database, receiver: WebhookReceiver
) -> None:
    webhook_id, signing_secret = hook(db, receiver.url)
    with db.unit_of_work(read_only=True) as uow:
        stored = uow.session.get_one(Webhook, webhook_id).secret_ciphertext
    assert signing_secret.encode() not in stored
    listed = json.dumps([w.model_dump(mode="json") for w in webhook.get_list(db)])
    assert signing_secret not in listed and "secret" not in listed


def test_the_metrics_gauge_counts_deliveries_by_status(
    db: Database, receiver: WebhookReceiver
) -> None:
    webhook_id, _ = hook(db, receiver.url)
    webhook.send_test(db, webhook_id)
    webhook.send_test(db, webhook_id)
    counts = webhook.counts(db)
    assert counts == {"pending": 2, "sending": 0, "delivered": 0, "failed": 0}
    text = metrics.webhook_exposition(counts).decode()
    assert 'keyvend_webhook_deliveries{status="pending"} 2' in text
