"""`admin/email/get_list|get|resend`: the outbox through the API, its filters and bad input."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from keyvend.db.models import Email
from keyvend.db.unit_of_work import Database
from tests.conftest import Api, FakeClock
from tests.support.api import admin_error

FIELDS = {
    "id",
    "template",
    "recipient",
    "client_id",
    "status",
    "attempts",
    "last_error",
    "subject",
    "created_at",
    "sent_at",
    "next_attempt_at",
}


def test_the_outbox_lists_the_mails_newest_first_with_their_subjects(
    api: Api, customer: dict[str, Any], active_order: dict[str, Any]
) -> None:
    page = api.admin("email/get_list")
    assert page["total"] == 2 and page["pages"] == 1
    activated, welcome = page["list"]
    assert set(activated) == FIELDS
    assert (activated["template"], activated["recipient"], activated["client_id"]) == (
        "key_activated",
        "jo@example.com",
        customer["id"],
    )
    assert activated["subject"] == "Your Starter API key is ready"
    assert (activated["status"], activated["attempts"], activated["sent_at"]) == ("queued", 0, None)
    assert welcome["template"] == "client_signup"
    assert activated["id"] > welcome["id"]


def test_the_list_filters_by_status_and_by_part_of_the_recipient(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    from keyvend.schemas.account import ClientCreate
    from keyvend.services import client as clients

    clients.create(db, ClientCreate(email="ann@other.example", first_name="Ann"))
    assert api.admin("email/get_list", recipient="JO@EXAMPLE")["total"] == 1
    assert api.admin("email/get_list", recipient="example")["total"] == 2
    assert api.admin("email/get_list", recipient="%")["total"] == 0  # no wildcards
    assert api.admin("email/get_list", status="queued")["total"] == 2
    assert api.admin("email/get_list", status="failed")["total"] == 0
    one = api.admin("email/get_list", per_page=1, page=2)
    assert (one["total"], one["pages"], len(one["list"])) == (2, 2, 1)


def test_get_shows_the_text_and_html_of_one_mail(
    api: Api, customer: dict[str, Any], active_order: dict[str, Any]
) -> None:
    newest = api.admin("email/get_list")["list"][0]
    mail = api.admin("email/get", id=newest["id"])
    assert set(mail) == FIELDS | {"text", "html"}
    assert f"/services/{active_order['id']}" in mail["text"]
    assert mail["html"].startswith("<!doctype html>")
    assert active_order["key"] not in mail["text"] + mail["html"]


def test_resend_queues_a_failed_mail_again_with_its_tries_reset(
    api: Api, db: Database, customer: dict[str, Any], clock: FakeClock
) -> None:
    [mail] = api.admin("email/get_list")["list"]
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(Email).values(status="failed", attempts=5, last_error="550 No such user")
        )
        uow.commit()
    assert api.admin("email/get_list", status="failed")["list"][0]["last_error"] == (
        "550 No such user"
    )
    clock.advance(hours=1)
    assert api.admin("email/resend", id=mail["id"]) is True
    again = api.admin("email/get", id=mail["id"])
    assert (again["status"], again["attempts"], again["last_error"]) == ("queued", 0, None)
    assert again["next_attempt_at"] == clock.now.isoformat()


def test_a_mail_being_sent_cannot_be_resent_until_its_lease_passes(
    api: Api, db: Database, customer: dict[str, Any], clock: FakeClock
) -> None:
    from keyvend.services.email import LEASE

    [mail] = api.admin("email/get_list")["list"]
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(Email).values(status="sending", next_attempt_at=clock.now + LEASE)
        )
        uow.commit()
    error = admin_error(api, "email/resend", id=mail["id"])
    assert error["message"] == "This email is being sent right now; look again in a minute"
    clock.advance(seconds=LEASE.total_seconds())
    assert api.admin("email/resend", id=mail["id"]) is True


def test_bad_input_is_refused_with_its_reason(api: Api, customer: dict[str, Any]) -> None:
    assert admin_error(api, "email/get", id=999)["message"] == "Email not found"
    assert admin_error(api, "email/resend", id=999)["message"] == "Email not found"
    assert "status" in admin_error(api, "email/get_list", status="lost")["message"]
    for params in ({"id": "one"}, {"id": 0}, {}, {"id": None}):
        assert admin_error(api, "email/get", **params)["message"]
    assert admin_error(api, "email/get_list", page=0)["message"]
    assert admin_error(api, "email/get_list", recipient="x" * 256)["message"]


def test_clients_and_guests_cannot_read_the_outbox(api: Api, customer: dict[str, Any]) -> None:
    for path in ("email/get_list", "email/get", "email/resend"):
        status, body = api.call(f"admin/{path}", auth=customer["auth"], id=1)
        assert body["result"] is None and status in (401, 403)
        status, body = api.call(f"admin/{path}", id=1)
        assert body["result"] is None and status in (401, 403)
