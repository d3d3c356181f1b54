"""email: the outbox of mails, their delivery state, and sending one again (admin)."""

from __future__ import annotations

from keyvend.api.endpoints.fields import IdParams, ListParams, Short
from keyvend.api.registry import Call, endpoint
from keyvend.schemas.common import Page
from keyvend.schemas.email import EmailDetail, EmailPublic
from keyvend.services import email


class EmailListParams(ListParams):
    status: Short | None = None
    recipient: Short | None = None


@endpoint("admin", "email", "get_list", EmailListParams)
def get_list(call: Call, p: EmailListParams) -> Page[EmailPublic]:
    """Mails of the outbox, newest first, filtered by status and part of the recipient."""
    return email.get_list(call.db, page=p.page_spec(), status=p.status, recipient=p.recipient)


@endpoint("admin", "email", "get", IdParams)
def get(call: Call, p: IdParams) -> EmailDetail:
    """One mail with its text and HTML bodies."""
    return email.get(call.db, p.id)


@endpoint("admin", "email", "resend", IdParams)
def resend(call: Call, p: IdParams) -> bool:
    """Queue a mail again, to go out at the worker's next run with its tries reset."""
    return email.resend(call.db, p.id)
