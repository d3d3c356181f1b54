"""The email outbox against a real SMTP server (aiosmtpd), on SQLite and PostgreSQL.

Real flows queue the mails (checkout and payment, the admin's order actions, the cron's
dunning under a driven clock); `email.deliver_due` sends them. Nothing sleeps: the tests
wait for the server's messages with a deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from keyvend.adapters.mail import MailError, Security, SmtpMailer, mailer_for
from keyvend.config import Settings
from keyvend.db.models import Email, Order
from keyvend.db.unit_of_work import Database
from keyvend.domain.order_states import Action
from keyvend.schemas.account import ClientCreate, StaffCreate
from keyvend.schemas.cart import CartItemCreate
from keyvend.schemas.email import EmailPublic
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import business_settings, cart, cron, email, order, product, staff
from keyvend.services import client as clients
from keyvend.services import payment as payments
from keyvend.services.cart import CartOwner
from keyvend.services.pagination import PageRequest
from tests.conftest import FakeClock
from tests.support.keys import key_via_service
from tests.support.smtp_server import Received, SmtpServer

SHOP = "https://shop.example.com"
FROM = "Acme Keys <billing@example.com>"
MONTHLY = {"type": "recurrent", "recurrent": {"1M": "10"}}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": SHOP})


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mailer(smtp: SmtpServer) -> SmtpMailer:
    return SmtpMailer.from_url(smtp.url, FROM)


@pytest.fixture
def jo(db: Database) -> int:
    data = ClientCreate(email="jo@example.com", first_name="Jo", password="jo-pass-123")
    return clients.create(db, data).id


def make_product(db: Database, *, pricing: dict[str, Any] | None = None) -> int:
    pid = product.prepare(db, ProductCreate(title="Pro API", type="apikey"))
    update_ = ProductUpdate(status="enabled", setup="after_payment", pricing=pricing or MONTHLY)
    product.update(db, pid, update_)
    return pid


def active_order(db: Database, client_id: int) -> int:
    data = OrderCreate(client_id=client_id, product_id=make_product(db), period="1M")
    return order.create(db, data.model_copy(update={"activate": True}))


def outbox(db: Database, **filters: Any) -> list[EmailPublic]:
    return email.get_list(db, page=PageRequest(1, 1000), **filters).list


def templates(db: Database) -> list[tuple[str, str]]:
    return sorted((mail.template, mail.recipient) for mail in outbox(db))


def one(smtp: SmtpServer, recipient: str, subject_part: str) -> Received:
    found = [m for m in smtp.to(recipient) if subject_part in str(m.message["Subject"])]
    assert len(found) == 1, [str(m.message["Subject"]) for m in smtp.to(recipient)]
    return found[0]


# -- what each event sends -------------------------------------------------------------------


def test_checkout_and_payment_send_the_invoice_receipt_key_and_staff_mails(
    db: Database, jo: int, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    business_settings.update(db, {"company_name": "Acme Keys"})
    staff.create_admin(db, StaffCreate(email="root@example.com", password="admin-pass-1"))
    staff.create_admin(db, StaffCreate(email="ops@example.com", password="admin-pass-1"))
    owner = CartOwner(client_id=jo)
    cart.add_item(db, owner, CartItemCreate(product_id=make_product(db), period="1M"))
    placed = cart.checkout(db, jo)
    assert placed.invoice_id is not None and placed.invoice_hash is not None
    payments.mark_as_paid(db, placed.invoice_id)
    email.deliver_due(db, mailer)
    smtp.wait_for(len(outbox(db)))
    assert {m.status for m in outbox(db)} == {"sent"}

    created = one(smtp, "jo@example.com", "Invoice KV-")
    assert str(created.message["Subject"]) == "Invoice KV-00001 from Acme Keys: 10.00 USD"
    assert f"{SHOP}/invoice/{placed.invoice_hash}" in created.text
    assert f'href="{SHOP}/invoice/{placed.invoice_hash}"' in created.html
    assert str(created.message["From"]) == FROM and created.mail_from == "billing@example.com"
    receipt = one(smtp, "jo@example.com", "Receipt for invoice KV-00001")
    assert "we received 10.00 USD for invoice KV-00001" in receipt.text
    activated = one(smtp, "jo@example.com", "API key is ready")
    assert f"{SHOP}/services/{placed.order_id}" in activated.text
    assert key_via_service(db, placed.order_id) not in activated.text + activated.html
    for admin in ("root@example.com", "ops@example.com"):
        new_order = one(smtp, admin, f"New order #{placed.order_id}")
        assert f"{SHOP}/admin/orders/{placed.order_id}" in new_order.text
        assert "Jo (jo@example.com) ordered Pro API (1M) for 10.00 USD" in new_order.text
        assert "Acme Keys" in new_order.text


def test_an_order_an_admin_places_tells_no_staff(db: Database, jo: int) -> None:
    staff.create_admin(db, StaffCreate(email="root@example.com", password="admin-pass-1"))
    active_order(db, jo)
    assert "staff_new_order" not in {template for template, _ in templates(db)}


def test_the_admins_order_actions_each_send_their_mail(
    db: Database, jo: int, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    oid = active_order(db, jo)
    order.act(db, oid, Action.SUSPEND, reason="Abuse report #12")
    order.act(db, oid, Action.UNSUSPEND)
    order.act(db, oid, Action.RENEW)
    order.act(db, oid, Action.CANCEL, reason="Asked to")
    email.deliver_due(db, mailer)
    smtp.wait_for(len(outbox(db)))
    suspended = one(smtp, "jo@example.com", "Your Pro API API key is suspended")
    assert "Reason: Abuse report #12" in suspended.text
    assert "<strong>Reason:</strong> Abuse report #12" in suspended.html
    one(smtp, "jo@example.com", "Your Pro API API key works again")
    renewed = one(smtp, "jo@example.com", "Your Pro API is renewed")
    assert "until 2026-03-15" in renewed.text  # one month more from 2026-02-15
    canceled = one(smtp, "jo@example.com", "Your Pro API order is canceled")
    assert "Reason: Asked to" in canceled.text
    for mail in (suspended, renewed, canceled):
        assert f"{SHOP}/services/{oid}" in mail.text
        assert "Keyvend" in mail.text  # no company name set: the shop is "Keyvend"


def test_dunning_sends_the_renewal_invoice_the_reminder_and_the_overdue_notice(
    db: Database, jo: int, clock: FakeClock, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    business_settings.update(db, {"invoice_reminder_before_due_days": "3"})
    oid = active_order(db, jo)
    expires = order.get(db, oid).expires_at
    assert expires is not None
    clock.now = expires - timedelta(days=14)
    [iid] = cron.run(db, mailer)["renewal_invoices"]
    clock.now = expires - timedelta(days=3)
    assert cron.run(db, mailer)["reminders"] == [iid]
    clock.now = expires + timedelta(days=5)
    assert cron.run(db, mailer)["reminders"] == [iid]
    smtp.wait_for(len(outbox(db)))
    assert {m.status for m in outbox(db)} == {"sent"}
    one(smtp, "jo@example.com", "Invoice KV-00001 from Keyvend")
    reminder = one(smtp, "jo@example.com", "Invoice KV-00001 is due on 2026-02-15")
    assert "in 3 days" in reminder.text
    overdue = one(smtp, "jo@example.com", "Invoice KV-00001 is overdue")
    assert "5 days ago" in overdue.text
    pay_link = f"{SHOP}/invoice/{email_hash(db, iid)}"
    assert pay_link in reminder.text and pay_link in overdue.text


def email_hash(db: Database, invoice_id: int) -> str:
    from keyvend.services import invoice

    return invoice.get(db, invoice_id).hash


def test_a_new_client_gets_the_signup_mail(
    db: Database, jo: int, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    assert templates(db) == [("client_signup", "jo@example.com")]
    email.deliver_due(db, mailer)
    [welcome] = smtp.wait_for(1)
    assert str(welcome.message["Subject"]) == "Welcome to Keyvend"
    assert f"at:\r\n{SHOP}/\r\n" in welcome.text and "Hello Jo," in welcome.text


def test_password_reset_mails_carry_the_link_to_the_client_and_to_the_admin(
    db: Database, jo: int, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    admin = staff.create_admin(db, StaffCreate(email="root@example.com", password="admin-pass-1"))
    client_link = f"{SHOP}/password-reset?token=client-token-123"
    staff_link = f"{SHOP}/admin/password-reset?token=staff-token-456"
    with db.unit_of_work() as uow:
        private = {"reset_url": client_link}
        uow.record("client.password_reset_requested", client_id=jo, private=private)
        private = {"reset_url": staff_link, "email": admin.email}
        uow.record("staff.password_reset_requested", data={"admin_id": admin.id}, private=private)
        uow.commit()
    email.deliver_due(db, mailer)
    smtp.wait_for(3)
    assert client_link in one(smtp, "jo@example.com", "Reset your Keyvend password").text
    assert staff_link in one(smtp, "root@example.com", "Reset your Keyvend password").html
    assert_no_plaintext(db, "client-token-123", "staff-token-456")


def test_a_rolled_back_change_queues_no_mail(db: Database, jo: int) -> None:
    before = templates(db)
    oid = active_order(db, jo)
    after_activation = templates(db)
    with db.unit_of_work() as uow:
        found = uow.session.get(Order, oid)
        assert found is not None
        order.transition(uow, found, Action.SUSPEND, "Never committed")
        assert uow.session.scalars(select(Email).where(Email.template == "key_suspended")).all()
    assert templates(db) == after_activation != before
    assert "key_suspended" not in {template for template, _ in templates(db)}


# -- delivery --------------------------------------------------------------------------------


def test_mail_queued_while_smtp_is_down_arrives_once_it_is_back(
    db: Database, jo: int, clock: FakeClock, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp.stop()
    assert email.deliver_due(db, mailer) == []
    [queued] = outbox(db)
    assert (queued.status, queued.attempts) == ("queued", 1)
    assert queued.last_error is not None and "Connection refused" in queued.last_error
    assert queued.next_attempt_at == clock.now + timedelta(minutes=1)
    smtp.start()
    assert email.deliver_due(db, mailer) == []  # not due before its backoff
    clock.advance(minutes=1)
    assert email.deliver_due(db, mailer) == [queued.id]
    smtp.wait_for(1)
    clock.advance(days=1)
    assert email.deliver_due(db, mailer) == []
    assert len(smtp.received) == 1
    [done] = outbox(db)
    assert (done.status, done.attempts, done.last_error, done.sent_at) == (
        "sent",
        2,
        None,
        clock.now - timedelta(days=1),
    )


def test_five_failures_make_a_mail_failed_with_the_last_error_and_resend_sends_it(
    db: Database, jo: int, clock: FakeClock, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp.refuse("451 4.3.0 Mailbox busy")
    waits = []
    for attempt in range(1, 6):
        assert email.deliver_due(db, mailer) == []
        [row] = outbox(db)
        assert row.attempts == attempt
        waits.append(row.next_attempt_at - clock.now)
        clock.advance(hours=3)
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 5, 30, 120)]
    [failed] = outbox(db)
    assert failed.status == "failed" and failed.last_error is not None
    assert "451" in failed.last_error and "Mailbox busy" in failed.last_error
    clock.advance(days=30)
    assert email.deliver_due(db, mailer) == []  # failed: never tried again by itself
    smtp.refuse(None)
    assert email.resend(db, failed.id) is True
    assert (outbox(db)[0].status, outbox(db)[0].attempts) == ("queued", 0)
    assert email.deliver_due(db, mailer) == [failed.id]
    assert str(smtp.wait_for(1)[0].message["Subject"]) == "Welcome to Keyvend"


def test_a_mail_stuck_in_sending_is_sent_again_once_its_lease_passes(
    db: Database, jo: int, clock: FakeClock, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    with db.unit_of_work() as uow:  # a sender claimed it, then died before finishing
        lease = clock.now + email.LEASE
        uow.session.execute(update(Email).values(status="sending", next_attempt_at=lease))
        uow.commit()
    assert email.deliver_due(db, mailer) == []
    clock.now = lease
    [row] = outbox(db)
    assert email.deliver_due(db, mailer) == [row.id]
    assert len(smtp.wait_for(1)) == 1


def test_without_smtp_mails_stay_queued_and_one_warning_is_logged(
    db: Database, jo: int, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    email._warn_no_smtp.cache_clear()
    assert mailer_for(Settings(data_dir=tmp_path)) is None
    with caplog.at_level(logging.WARNING, logger="keyvend.email"):
        assert cron.run(db)["emails_sent"] == []
        assert email.deliver_due(db, None) == []
    warnings = [r for r in caplog.records if "KEYVEND_SMTP_URL is not set" in r.message]
    assert len(warnings) == 1
    assert [(m.status, m.attempts) for m in outbox(db)] == [("queued", 0)]


# -- secrets and templates -------------------------------------------------------------------


def assert_no_plaintext(db: Database, *secrets: str) -> None:
    """No secret appears in any column of any outbox row, as stored."""
    with db.engine.connect() as connection:
        rows = connection.execute(select(Email.__table__)).all()
    assert rows
    for row in rows:
        stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
        for secret in secrets:
            assert secret.encode() not in stored


def test_no_key_is_in_any_mail_or_outbox_row_by_default(
    db: Database, jo: int, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    oid = active_order(db, jo)
    key = key_via_service(db, oid)
    assert_no_plaintext(db, key, key.lower(), key.replace("-", ""))
    email.deliver_due(db, mailer)
    for mail in smtp.wait_for(2):
        assert key not in mail.message.as_string()


def test_with_email_includes_key_the_activation_mail_has_the_key(
    db: Database, jo: int, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    business_settings.update(db, {"email_includes_key": True})
    oid = active_order(db, jo)
    key = key_via_service(db, oid)
    assert_no_plaintext(db, key)  # encrypted at rest all the same
    email.deliver_due(db, mailer)
    smtp.wait_for(2)
    activated = one(smtp, "jo@example.com", "API key is ready")
    assert key in activated.text and key in activated.html


def test_a_template_in_the_data_dir_replaces_the_built_in_one(
    db: Database, settings: Settings, smtp: SmtpServer, mailer: SmtpMailer
) -> None:
    folder = settings.data_dir / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "client_signup.txt").write_text(
        "{% block subject %}Hi {{ name }}, from {{ shop.name }}{% endblock %}"
        "{% block text %}Custom welcome: {{ login_url }}{% endblock %}"
    )
    clients.create(db, ClientCreate(email="jo@example.com", first_name="Jo", password="x" * 12))
    email.deliver_due(db, mailer)
    [mail] = smtp.wait_for(1)
    assert str(mail.message["Subject"]) == "Hi Jo, from Keyvend"
    assert mail.text.strip() == f"Custom welcome: {SHOP}/"
    assert "Your Keyvend account is ready" in mail.html  # the HTML is still the built-in one


def test_a_broken_override_is_logged_and_the_built_in_mail_goes_out(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    folder = settings.data_dir / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "client_signup.txt").write_text("{% block subject %}{{ nope.nope }}{% endblock %}")
    with caplog.at_level(logging.ERROR, logger="keyvend.mail"):
        clients.create(db, ClientCreate(email="jo@example.com", first_name="Jo"))
    assert [m.subject for m in outbox(db)] == ["Welcome to Keyvend"]
    assert any("client_signup" in r.message for r in caplog.records)


# -- the SMTP sender -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "security", "port"),
    [
        ("smtp://relay.local", Security.PLAIN, 25),
        ("smtp://u:p@mail.example.com:587?starttls=true", Security.STARTTLS, 587),
        ("smtp://u:p@mail.example.com?starttls=true", Security.STARTTLS, 587),
        ("smtps://u:p@mail.example.com", Security.TLS, 465),
    ],
)
def test_the_smtp_url_says_how_to_connect(url: str, security: Security, port: int) -> None:
    mailer = SmtpMailer.from_url(url, FROM)
    assert (mailer.security, mailer.port) == (security, port)


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "smtp://host:port"])
def test_a_bad_smtp_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="KEYVEND_SMTP_URL"):
        SmtpMailer.from_url(url, FROM)


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_the_sender_logs_in_over_tls_with_the_urls_user_and_password(
    tls: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpServer(tls=tls, users={"shop@example.com": "p@ss:w/rd"}, cert_dir=tmp_path) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cert_file))
        url = server.url.replace("://", "://shop%40example.com:p%40ss%3Aw%2Frd@")
        mailer = SmtpMailer.from_url(url, FROM)
        assert mailer.username == "shop@example.com" and mailer.password == "p@ss:w/rd"
        message = EmailMessage()
        message["To"], message["Subject"] = "jo@example.com", "Over TLS"
        message.set_content("Hello")
        mailer.send(message)
        assert str(server.wait_for(1)[0].message["Subject"]) == "Over TLS"


def test_a_mail_error_never_shows_the_password(smtp: SmtpServer) -> None:
    smtp.stop()
    mailer = SmtpMailer.from_url(smtp.url.replace("://", "://user:hunter2-secret@"), FROM)
    message = EmailMessage()
    message["To"] = "jo@example.com"
    with pytest.raises(MailError) as raised:
        mailer.send(message)
    assert "Connection refused" in str(raised.value)
    assert "hunter2-secret" not in str(raised.value) + repr(mailer)
