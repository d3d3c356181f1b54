"""Admin pages for the outbox (`/admin/emails`): every mail with its delivery status, filtered
by status and recipient; one mail to read (its HTML body shown as escaped source and in a
sandboxed frame, never as markup of this page); and Resend."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.schemas.email import EmailStatus
from keyvend.services import email
from keyvend.services.pagination import PageRequest
from keyvend.web.page import Ctx, page

PER_PAGE = 50
STATUS_CHOICES = [("", "Any"), *((s.value, s.value.capitalize()) for s in EmailStatus)]


@page("admin")
def email_list(ctx: Ctx) -> Response:
    """The outbox, newest first; filter by status and recipient."""
    status, recipient = ctx.query("status"), ctx.query("recipient").strip()
    result = email.get_list(
        ctx.db,
        page=PageRequest(ctx.page_number(), PER_PAGE),
        status=status or None,
        recipient=recipient or None,
    )
    return ctx.render(
        "admin/emails.html",
        title="Emails",
        result=result,
        chosen=status,
        recipient=recipient,
        statuses=STATUS_CHOICES,
    )


@page("admin")
def view_email(ctx: Ctx) -> Response:
    """One mail: its subject, text and HTML bodies, and its delivery."""
    found = email.get(ctx.db, ctx.path_int("id"))
    return ctx.render("admin/email.html", title=found.subject or f"Email #{found.id}", mail=found)


@page("admin")
def resend(ctx: Ctx) -> Response:
    """Queue a mail to be sent again now."""
    email_id = ctx.path_int("id")
    email.resend(ctx.db, email_id)
    return ctx.redirect(f"/admin/emails/{email_id}", "The email is queued to be sent again.")


def routes() -> list[Route]:
    return [
        Route("/admin/emails", email_list, methods=["GET"]),
        Route("/admin/emails/{id:id}", view_email, methods=["GET"]),
        Route("/admin/emails/{id:id}/resend", resend, methods=["POST"]),
    ]
