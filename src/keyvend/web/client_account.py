"""My account (`/account`): my profile, password, email and API token, each its own form.

A refused form is shown again with the message at its field and what was typed kept (never a
password); nothing is saved.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.schemas.account import ProfileUpdate
from keyvend.services import client
from keyvend.web import credentials
from keyvend.web.error_pages import status_of
from keyvend.web.forms import checked, refusal
from keyvend.web.page import Ctx, page

PROFILE_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company",
    "address_1": "Address",
    "city": "City",
    "postcode": "Postcode",
    "country": "Country",
}
FORM_LABELS = {
    "profile": PROFILE_LABELS,
    "password": credentials.PASSWORD_LABELS,
    "email": credentials.EMAIL_LABELS,
}


@page("client")
def account(ctx: Ctx) -> Response:
    """My profile, password, email and API token."""
    return _account_page(ctx)


@page("client")
def update_profile(ctx: Ctx) -> Response:
    """Save my name, company and address (copied onto the invoices issued from now on)."""
    values = {name: ctx.form.get(name, "")[:255] for name in PROFILE_LABELS}
    try:
        client.update_profile(ctx.db, ctx.actor_id, ProfileUpdate(**values))
    except KeyvendError as exc:
        return _account_page(ctx, failed="profile", exc=exc)
    return ctx.redirect("/account", "Your profile is saved.")


@page("client")
def change_password(ctx: Ctx) -> Response:
    """Change my password; every other session of mine is logged out."""
    try:
        credentials.change_password(ctx, client.change_password)
    except KeyvendError as exc:
        return _account_page(ctx, failed="password", exc=exc)
    return ctx.redirect("/account", credentials.OTHERS_LOGGED_OUT)


@page("client")
def change_email(ctx: Ctx) -> Response:
    """Change the email I log in with, confirmed by my password."""
    try:
        credentials.change_email(ctx, client.change_email)
    except KeyvendError as exc:
        return _account_page(ctx, failed="email", exc=exc)
    return ctx.redirect("/account", "Your email is changed. Log in with it from now on.")


@page("client")
def reset_token(ctx: Ctx) -> Response:
    """A new client API token, shown once on this page."""
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm first: the old API token stops working at once.")
    return _account_page(ctx, token=client.reset_api_token(ctx.db, ctx.actor_id))


def _account_page(
    ctx: Ctx,
    *,
    failed: str | None = None,
    exc: KeyvendError | None = None,
    token: str | None = None,
) -> Response:
    """The page; after a refused form (`failed`), its message and the values typed in it."""
    profile = client.get(ctx.db, ctx.actor_id)
    shown = profile.model_dump()
    values = {name: str(shown.get(name) or "") for name in PROFILE_LABELS}
    typed = (*PROFILE_LABELS, "email") if failed else ()
    values |= {name: ctx.form[name][:255] for name in typed if name in ctx.form}
    return ctx.render(
        "client/account.html",
        status=status_of(exc) if exc else 200,
        title="Account",
        profile=profile,
        values=values,
        token=token,
        base_url=str(ctx.request.base_url).rstrip("/"),
        failed=failed,
        **(refusal(exc, FORM_LABELS[failed]) if exc and failed else {}),
    )


def routes() -> list[Route]:
    return [
        Route("/account", account, methods=["GET"]),
        Route("/account/profile", update_profile, methods=["POST"]),
        Route("/account/password", change_password, methods=["POST"]),
        Route("/account/email", change_email, methods=["POST"]),
        Route("/account/token", reset_token, methods=["POST"]),
    ]
