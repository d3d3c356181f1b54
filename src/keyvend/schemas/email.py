"""The outbox as the admin sees it: `admin/email/get_list`, `get`, `resend`, /admin/emails."""

from __future__ import annotations

from enum import StrEnum

from keyvend.schemas.common import Schema, Timestamp


class EmailStatus(StrEnum):
    QUEUED = "queued"  # waiting for its (next) attempt at `next_attempt_at`
    SENDING = "sending"  # claimed by a worker until `next_attempt_at` (the lease)
    SENT = "sent"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS; `last_error` says why, resend retries


class EmailPublic(Schema):
    """One mail of the outbox, its subject decrypted."""

    id: int
    template: str
    recipient: str
    client_id: int | None
    status: EmailStatus
    attempts: int
    last_error: str | None
    subject: str
    created_at: Timestamp
    sent_at: Timestamp | None
    next_attempt_at: Timestamp


class EmailDetail(EmailPublic):
    """One mail with its bodies."""

    text: str
    html: str
