"""The admin's own account (`/admin/account`): change my password and my email."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import KeyvendError
from keyvend.services import staff
from keyvend.web import credentials
from keyvend.web.error_pages import status_of
from keyvend.web.forms import refusal
from keyvend.web.page import Ctx, page

FORM_LABELS = {"password": credentials.PASSWORD_LABELS, "email": credentials.EMAIL_LABELS}


@page("admin")
def account(ctx: Ctx) -> Response:
    """My admin account: my email and password."""
    return _account_page(ctx)


@page("admin")
def change_password(ctx: Ctx) -> Response:
    """Change my password; every other session of mine is logged out."""
    try:
        credentials.change_password(ctx, staff.change_password)
    except KeyvendError as exc:
        return _account_page(ctx, failed="password", exc=exc)
    return ctx.redirect("/admin/account", credentials.OTHERS_LOGGED_OUT)


@page("admin")
def change_email(ctx: Ctx) -> Response:
    """Change the email I log in with, confirmed by my password."""
    try:
        credentials.change_email(ctx, staff.change_email)
    except KeyvendError as exc:
        return _account_page(ctx, failed="email", exc=exc)
    return ctx.redirect("/admin/account", "Your email is changed. Log in with it from now on.")


def _account_page(
    ctx: Ctx, *, failed: str | None = None, exc: KeyvendError | None = None
) -> Response:
    return ctx.render(
        "admin/account.html",
        status=status_of(exc) if exc else 200,
        title="My account",
        profile=staff.get_profile(ctx.db, ctx.actor_id),
        typed_email=ctx.form.get("email", "")[:255] if failed == "email" else "",
        failed=failed,
        **(refusal(exc, FORM_LABELS[failed]) if exc and failed else {}),
    )


def routes() -> list[Route]:
    return [
        Route("/admin/account", account, methods=["GET"]),
        Route("/admin/account/password", change_password, methods=["POST"]),
        Route("/admin/account/email", change_email, methods=["POST"]),
    ]
