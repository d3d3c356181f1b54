"""`admin/webhook/*` against a real local receiver: create (the secret shown once), list, update,
delete, test ping, the delivery log, manual retry; a hung receiver never holds up the API."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

import pytest

from keyvend.adapters.webhook_sender import HttpxSender
from keyvend.db.unit_of_work import Database
from keyvend.services import webhook_delivery
from tests.conftest import Api
from tests.support.webhook_receiver import WebhookReceiver, verify

SENDER = HttpxSender()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def create(api: Api, url: str, events: list[str] | None = None, **more: Any) -> dict[str, Any]:
    return dict(api.admin("webhook/create", url=url, events=events or ["*"], **more))


def test_create_shows_the_secret_once_and_the_list_never_does(
    api: Api, receiver: WebhookReceiver
) -> None:
    made = create(api, receiver.url, ["client.created", "order.created"], description="CRM")
    assert set(made) == {"id", "secret"} and made["secret"].startswith("whsec_")
    assert len(base64.b64decode(made["secret"].removeprefix("whsec_"), validate=True)) >= 24
    listed = api.client.post(
        "/api/admin/webhook/get_list", json={}, auth=("admin", api.admin_token)
    )
    assert made["secret"] not in listed.text and "secret" not in listed.text
    [row] = listed.json()["result"]
    assert row["id"] == made["id"] and row["url"] == receiver.url
    assert row["events"] == ["client.created", "order.created"]
    assert row["enabled"] is True and row["description"] == "CRM"
    page = api.admin("webhook/deliveries", id=made["id"])
    assert made["secret"] not in str(page)


@pytest.mark.parametrize(
    ("url", "events", "field_message"),
    [
        ("ftp://example.com/hook", ["*"], "url must be an http:// or https:// URL"),
        ("javascript:alert(1)", ["*"], "url must be an http:// or https:// URL"),
        ("https:///no-host", ["*"], "url must be an http:// or https:// URL"),
        ("http://example.com:99999/", ["*"], "url is not a valid URL"),
        ("  ", ["*"], "url is required"),
        ("https://example.com/hook", ["order.nonsense"], "events has unknown event types"),
    ],
)
def test_create_refuses_a_url_that_is_not_http_and_unknown_events(
    api: Api, url: str, events: list[str], field_message: str
) -> None:
    auth = ("admin", api.admin_token)
    error = api.error("admin/webhook/create", auth=auth, url=url, events=events)
    assert field_message in error["message"]
    assert api.admin("webhook/get_list") == []


def test_update_changes_url_events_and_enabled_and_delete_removes_it(
    api: Api, receiver: WebhookReceiver
) -> None:
    made = create(api, "https://example.com/old")
    assert api.admin(
        "webhook/update", id=made["id"], url=receiver.url, events=["key.reset"], enabled=False
    )
    [row] = api.admin("webhook/get_list")
    assert (row["url"], row["events"], row["enabled"]) == (receiver.url, ["key.reset"], False)
    api.admin("webhook/update", id=made["id"], description="Billing")
    assert api.admin("webhook/get_list")[0]["description"] == "Billing"
    assert api.admin("webhook/delete", id=made["id"]) is True
    assert api.admin("webhook/get_list") == []
    error = api.error("admin/webhook/delete", auth=("admin", api.admin_token), id=made["id"])
    assert error["message"] == "Webhook not found"


def test_the_test_ping_shows_in_the_delivery_log_with_code_and_time(
    api: Api, db: Database, receiver: WebhookReceiver
) -> None:
    made = create(api, receiver.url)
    delivery_id = api.admin("webhook/test", id=made["id"])
    assert webhook_delivery.deliver_due(db, SENDER) == [delivery_id]
    [got] = receiver.wait_for(1)
    assert got.json["type"] == "webhook.test" and verify(made["secret"], got)
    page = api.admin("webhook/deliveries", id=made["id"])
    assert (page["total"], page["page"]) == (1, 1)
    [entry] = page["list"]
    assert entry["id"] == delivery_id and entry["status"] == "delivered"
    assert entry["attempts"] == 1 and entry["last_status_code"] == 200
    assert isinstance(entry["last_duration_ms"], int) and entry["delivered_at"]
    [attempt] = entry["attempt_log"]
    assert attempt["status_code"] == 200 and isinstance(attempt["duration_ms"], int)
    assert entry["payload"] == got.json


def test_a_manual_retry_makes_a_failed_attempt_due_now(
    api: Api, db: Database, receiver: WebhookReceiver
) -> None:
    made = create(api, receiver.url)
    receiver.answer(500)
    delivery_id = api.admin("webhook/test", id=made["id"])
    assert webhook_delivery.deliver_due(db, SENDER) == []
    assert api.admin("webhook/retry", delivery_id=delivery_id) is True
    assert webhook_delivery.deliver_due(db, SENDER) == [delivery_id]
    [entry] = api.admin("webhook/deliveries", id=made["id"])["list"]
    assert [a["status_code"] for a in entry["attempt_log"]] == [200, 500]
    error = api.error("admin/webhook/retry", auth=("admin", api.admin_token), delivery_id=999)
    assert error["message"] == "Webhook delivery not found"


def test_a_key_reset_is_sent_without_the_key_or_its_fingerprint(
    api: Api, db: Database, receiver: WebhookReceiver, active_order: dict[str, Any]
) -> None:
    made = create(api, receiver.url, ["key.reset"])
    api.admin("serviceapikey/reset", order_id=active_order["id"])
    webhook_delivery.deliver_due(db, SENDER)
    [got] = receiver.wait_for(1)
    assert got.json["type"] == "key.reset" and verify(made["secret"], got)
    assert got.json["data"]["order_id"] == active_order["id"]
    assert "fingerprints" not in got.json["data"]
    new_key = api.admin("order/service", id=active_order["id"])["api_key"]
    body = got.body.decode()
    for key in (active_order["key"], new_key):
        assert key not in body and key.replace("-", "") not in body


def test_a_receiver_that_never_answers_does_not_delay_the_api(
    api: Api, db: Database, receiver: WebhookReceiver
) -> None:
    create(api, receiver.url)
    receiver.hang()
    first = api.admin("client/create", email="a@example.com", first_name="A", password="pw-123456")
    assert first and receiver.received == []  # nothing is sent inside a request
    dispatcher = webhook_delivery.Dispatcher(db, SENDER)
    try:
        dispatcher.tick()
        receiver.wait_hanging(1)
        # The receiver holds the delivery; the API answers anyway, and queues the next.
        second = api.admin(
            "client/create", email="b@example.com", first_name="B", password="pw-123456"
        )
        assert second and receiver.hanging == 1 and len(receiver.received) == 1
        [made] = api.admin("webhook/get_list")
        statuses = [d["status"] for d in api.admin("webhook/deliveries", id=made["id"])["list"]]
        assert statuses == ["pending", "sending"]
    finally:
        receiver.release()
        dispatcher.close()


def test_the_secret_is_valid_base64_after_its_prefix(api: Api) -> None:
    secret = create(api, "https://example.com/hook")["secret"]
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        pytest.fail("the secret is not base64")
    assert len(key) == 32
