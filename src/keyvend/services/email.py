"""Email (DESIGN.md section 10): the outbox, filled by an event reader, emptied by delivery.

Queueing: `queue_mails` is an event reader (`EVENT_READERS`). When a service records an
event that causes mail (`email_events.MAILS`), the mail is rendered and written to `emails` in the
event's own transaction, so a rolled-back change sends nothing and a committed one loses
nothing while SMTP is down. Subject and bodies are stored encrypted with the vault: they may
hold a reset link, a pay link or (with `email_includes_key`) a key.

Delivery (`deliver_due`, run by `keyvend cron` and the serve's worker) never talks to SMTP
with a transaction open: it claims one due mail in a short transaction (`sending`, with its
lease in `next_attempt_at`; SKIP LOCKED on PostgreSQL, the write lock on SQLite), commits,
sends, then records the outcome in another. A mail whose sender died mid-send is claimed
again once its lease passes. A failure waits BACKOFF; the MAX_ATTEMPTS-th makes it `failed`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from keyvend.adapters.mail import Mailer, MailError
from keyvend.db.models import Email, Event
from keyvend.db.unit_of_work import EVENT_READERS, Database, UnitOfWork
from keyvend.domain.errors import Conflict, NotFound
from keyvend.domain.fields import choice
from keyvend.domain.vault import UndecryptableKey
from keyvend.mail.render import render
from keyvend.schemas.common import Page
from keyvend.schemas.email import EmailDetail, EmailPublic, EmailStatus
from keyvend.services import business_settings
from keyvend.services.email_events import MAILS
from keyvend.services.pagination import PageRequest, paginate_with

log = logging.getLogger("keyvend.email")
MAX_ATTEMPTS = 5
BACKOFF = tuple(timedelta(minutes=minutes) for minutes in (1, 5, 30, 120))
LEASE = timedelta(minutes=5)  # a claimed mail is the claimer's this long
STATUSES = tuple(s.value for s in EmailStatus)
UNREADABLE = "(cannot be decrypted with the current secret)"


# -- queueing ----------------------------------------------------------------------------------
def queue_mails(uow: UnitOfWork, event: Event, private: dict[str, Any]) -> None:
    """The event reader: write the mails `event` causes to the outbox, in its transaction."""
    build = MAILS.get(event.type)
    mails = build(uow, event, private) if build else []
    if not mails:
        return
    uow.flush()  # gives the event its seq, which the mails name
    company = business_settings.read(uow).company_name
    shop = {"name": company or "Keyvend", "url": uow.shop.public_url, "currency": uow.shop.currency}
    now = uow.now()
    for mail in mails:
        context = {**mail.context, "shop": shop}
        made = render(mail.template, context, overrides=uow.shop.mail_templates)
        uow.session.add(
            Email(
                template=mail.template,
                recipient=mail.recipient,
                client_id=mail.client_id,
                event_seq=event.seq,
                subject=uow.vault.encrypt_key(made.subject),
                body_text=uow.vault.encrypt_key(made.text),
                body_html=uow.vault.encrypt_key(made.html),
                status=EmailStatus.QUEUED,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )


if queue_mails not in EVENT_READERS:
    EVENT_READERS.append(queue_mails)


# -- delivering --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Claim:
    id: int
    attempts: int  # as claimed: a later claim or a resend changes it, and the mail is theirs
    message: EmailMessage


def deliver_due(db: Database, mailer: Mailer | None, *, limit: int = 50) -> list[int]:
    """Send up to `limit` due mails, one at a time; returns the ids sent. A failure ends
    the run: a server that is down is tried again at the next run, not once per mail."""
    if mailer is None:
        if _anything_queued(db):
            _warn_no_smtp()
        return []
    sent: list[int] = []
    for _ in range(limit):
        claim = _claim(db)
        if claim is None:
            break
        try:
            mailer.send(claim.message)
        except Exception as exc:
            if not isinstance(exc, MailError):
                log.exception("sending email #%s failed", claim.id)
            error = str(exc) if isinstance(exc, MailError) else "Internal error (see the log)"
            _finish(db, claim, error)
            break
        _finish(db, claim, None)
        sent.append(claim.id)
    return sent


def _claim(db: Database) -> _Claim | None:
    """The first due mail (queued, or `sending` past its lease), marked `sending`."""
    with db.unit_of_work() as uow:
        now = uow.now()
        pending = (EmailStatus.QUEUED, EmailStatus.SENDING)
        row = uow.session.scalar(
            select(Email)
            .where(Email.status.in_(pending), Email.next_attempt_at <= now)
            .order_by(Email.next_attempt_at, Email.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if row is None:
            return None
        row.status, row.next_attempt_at, row.updated_at = EmailStatus.SENDING, now + LEASE, now
        row.attempts += 1  # counted now: a mail that kills its sender still runs out of tries
        message = _message(uow, row)
        uow.commit()
        return _Claim(row.id, row.attempts, message)


def _message(uow: UnitOfWork, row: Email) -> EmailMessage:
    message = EmailMessage()
    message["To"] = row.recipient
    message["Subject"] = _plain(uow, row.subject)
    message["Date"] = format_datetime(uow.now())
    domain = urlsplit(uow.shop.public_url).hostname or "keyvend.invalid"
    message["Message-ID"] = make_msgid(idstring=f"email-{row.id}", domain=domain)
    message.set_content(_plain(uow, row.body_text))
    message.add_alternative(_plain(uow, row.body_html), subtype="html")
    return message


def _finish(db: Database, claim: _Claim, error: str | None) -> None:
    """Record how the attempt went: sent, or the error and when to try again (or failed)."""
    with db.unit_of_work() as uow:
        row = uow.session.get(Email, claim.id, with_for_update=True)
        if row is None or row.status != EmailStatus.SENDING or row.attempts != claim.attempts:
            return  # resent, or claimed again after the lease: no longer this attempt's
        now = uow.now()
        row.updated_at, row.last_error = now, error[:500] if error else None
        if error is None:
            row.status, row.sent_at = EmailStatus.SENT, now
        elif row.attempts >= MAX_ATTEMPTS:
            row.status = EmailStatus.FAILED
        else:
            row.status = EmailStatus.QUEUED
            row.next_attempt_at = now + BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
        uow.commit()


def _anything_queued(db: Database) -> bool:
    with db.unit_of_work(read_only=True) as uow:
        query = select(Email.id).where(Email.status == EmailStatus.QUEUED).limit(1)
        return uow.session.scalar(query) is not None


@cache
def _warn_no_smtp() -> None:
    """Once per process: the mails wait, visible at /admin/emails, until SMTP is set."""
    log.warning("Emails are queued but KEYVEND_SMTP_URL is not set: they stay queued")


# -- the admin's view --------------------------------------------------------------------------
def get_list(
    db: Database,
    *,
    page: PageRequest,
    status: str | None = None,
    recipient: str | None = None,
) -> Page[EmailPublic]:
    """The outbox, newest first; filtered by status and by part of the recipient's address."""
    query = select(Email).order_by(Email.id.desc())
    if status:
        query = query.where(Email.status == choice(status, name="status", options=STATUSES))
    if recipient and recipient.strip():
        wanted = recipient.strip().lower()
        query = query.where(func.lower(Email.recipient).contains(wanted, autoescape=True))
    with db.unit_of_work(read_only=True) as uow:
        return paginate_with(uow, query, page, lambda rows: [_public(uow, r) for r in rows])


def get(db: Database, email_id: int) -> EmailDetail:
    """One mail with its text and HTML bodies."""
    with db.unit_of_work(read_only=True) as uow:
        row = _email(uow, email_id)
        return EmailDetail.model_validate(
            {
                **_public(uow, row).model_dump(),
                "text": _plain(uow, row.body_text),
                "html": _plain(uow, row.body_html),
            }
        )


def resend(db: Database, email_id: int) -> bool:
    """Queue a mail again, due now with its tries reset (a failed one, or a sent one)."""
    with db.unit_of_work() as uow:
        row = _email(uow, email_id, lock=True)
        now = uow.now()
        if row.status == EmailStatus.SENDING and row.next_attempt_at > now:
            raise Conflict("This email is being sent right now; look again in a minute")
        row.status, row.attempts, row.last_error = EmailStatus.QUEUED, 0, None
        row.next_attempt_at, row.sent_at, row.updated_at = now, None, now
        uow.commit()
    return True


def _email(uow: UnitOfWork, email_id: int, *, lock: bool = False) -> Email:
    row = uow.session.get(Email, email_id, with_for_update=lock)
    if row is None:
        raise NotFound("Email not found")
    return row


def _public(uow: UnitOfWork, row: Email) -> EmailPublic:
    fields = {name: getattr(row, name) for name in EmailPublic.model_fields if name != "subject"}
    return EmailPublic.model_validate({**fields, "subject": _plain(uow, row.subject)})


def _plain(uow: UnitOfWork, blob: bytes) -> str:
    try:
        return uow.vault.decrypt_key(blob)
    except UndecryptableKey:
        return UNREADABLE
