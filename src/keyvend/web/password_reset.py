"""Forgotten passwords, in both areas: ask for a reset link by email, then set a new password
through the link (`?token=`). The request answers alike whether or not the email is registered,
and both forms spend the API's `password_reset` budget, per client IP, as its reset calls do."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import KeyvendError
from keyvend.services import password_reset
from keyvend.services.auth import Role
from keyvend.web.error_pages import status_of
from keyvend.web.forms import new_password, refusal
from keyvend.web.page import LOGIN_PAGES, Ctx, page

RESET_PAGES: dict[Role, str] = {"client": "/password-reset", "admin": "/admin/password-reset"}
# The API endpoints doing the same; the pages spend their rate-limit budgets.
REQUEST_CALLS: dict[Role, tuple[str, str, str]] = {
    "client": ("guest", "client", "reset_password"),
    "admin": ("guest", "staff", "reset_password"),
}
CONFIRM_CALLS: dict[Role, tuple[str, str, str]] = {
    "client": ("guest", "client", "confirm_reset"),
    "admin": ("guest", "staff", "confirm_reset"),
}
TITLES: dict[Role, str] = {"client": "Reset your password", "admin": "Reset your admin password"}
SENT = "If that email is registered, a reset link is on its way."
LABELS = {"email": "Email", "password": "New password", "password_confirm": "Repeat new password"}


@page(None)
def client_reset_form(ctx: Ctx) -> Response:
    """Ask for a reset link, or (with the link's token) set a new password."""
    return _reset_page(ctx, "client", token=ctx.query("token"))


@page(None)
def client_reset(ctx: Ctx) -> Response:
    """Send a reset link, or set the new password of the link's token."""
    return _submitted(ctx, "client")


@page(None)
def admin_reset_form(ctx: Ctx) -> Response:
    """Ask for an admin reset link, or (with the link's token) set a new password."""
    return _reset_page(ctx, "admin", token=ctx.query("token"))


@page(None)
def admin_reset(ctx: Ctx) -> Response:
    """Send an admin reset link, or set the new password of the link's token."""
    return _submitted(ctx, "admin")


def _submitted(ctx: Ctx, role: Role) -> Response:
    token = ctx.form.get("token", "")[:255]
    return _confirm(ctx, role, token) if token else _request(ctx, role)


def _request(ctx: Ctx, role: Role) -> Response:
    email = ctx.form.get("email", "")[:255]
    try:
        ctx.limited(REQUEST_CALLS[role], lambda: password_reset.request(ctx.db, role, email))
    except KeyvendError as exc:
        return _reset_page(ctx, role, token="", email=email, exc=exc)
    return ctx.redirect(RESET_PAGES[role], SENT)


def _confirm(ctx: Ctx, role: Role, token: str) -> Response:
    try:
        password = new_password(ctx.form)
        ctx.limited(
            CONFIRM_CALLS[role], lambda: password_reset.confirm(ctx.db, role, token, password)
        )
    except KeyvendError as exc:
        return _reset_page(ctx, role, token=token, exc=exc)
    return ctx.redirect(LOGIN_PAGES[role], "Your new password is set. Log in with it.")


def _reset_page(
    ctx: Ctx, role: Role, *, token: str, email: str = "", exc: KeyvendError | None = None
) -> Response:
    return ctx.render(
        "password_reset.html",
        status=status_of(exc) if exc else 200,
        title=TITLES[role],
        action=RESET_PAGES[role],
        login=LOGIN_PAGES[role],
        token=token,
        email=email,
        **(refusal(exc, LABELS) if exc else {}),
    )


def routes() -> list[Route]:
    return [
        Route("/password-reset", client_reset_form, methods=["GET"]),
        Route("/password-reset", client_reset, methods=["POST"]),
        Route("/admin/password-reset", admin_reset_form, methods=["GET"]),
        Route("/admin/password-reset", admin_reset, methods=["POST"]),
    ]
