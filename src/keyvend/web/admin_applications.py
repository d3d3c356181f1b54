"""Admin pages for applications (`/admin/applications`): the programs that check keys, each with
its own token. A new or reset token is shown once, on the page that answers the form (never
after a redirect or a reload), since only its digest is stored."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.schemas.application import ApplicationToken
from keyvend.services import application
from keyvend.web.error_pages import status_of
from keyvend.web.forms import checked, refusal
from keyvend.web.page import Ctx, page

LABELS = {"name": "Name"}
PATH = "/admin/applications"


@page("admin")
def application_list(ctx: Ctx) -> Response:
    """Every application with the start of its token, and the form that adds one."""
    return _applications_page(ctx)


@page("admin")
def create_application(ctx: Ctx) -> Response:
    """Add an application; its token is shown on this answer only."""
    name = ctx.form.get("name", "")[:255]
    try:
        created = application.create(ctx.db, name=name)
    except KeyvendError as exc:
        return _applications_page(ctx, name=name, exc=exc)
    return _applications_page(ctx, token=created, done="Application created.")


@page("admin")
def rename_application(ctx: Ctx) -> Response:
    """Rename an application; its token stays."""
    application_id, name = ctx.path_int("id"), ctx.form.get("name", "")[:255]
    try:
        application.update(ctx.db, application_id=application_id, name=name)
    except InvalidInput as exc:
        return _applications_page(ctx, editing=application_id, name=name, exc=exc)
    return ctx.redirect(PATH, f"Application renamed to “{name.strip()}”.")


@page("admin")
def reset_token(ctx: Ctx) -> Response:
    """Give an application a new token, once confirmed; the old one stops working."""
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm the reset first: the old token stops working at once.")
    token = application.reset_token(ctx.db, application_id=ctx.path_int("id"))
    return _applications_page(ctx, token=token, done="Token reset. The old token no longer works.")


@page("admin")
def delete_application(ctx: Ctx) -> Response:
    """Delete an application, once confirmed; its token stops working."""
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm the deletion first: its token stops working at once.")
    application.delete(ctx.db, application_id=ctx.path_int("id"))
    return ctx.redirect(PATH, "Application deleted. Its token no longer works.")


def _applications_page(
    ctx: Ctx,
    *,
    token: ApplicationToken | None = None,
    done: str | None = None,
    editing: int | None = None,
    name: str = "",
    exc: KeyvendError | None = None,
) -> Response:
    """The list; `token` the one just made (shown once), `editing` the row a refused rename
    came from (`name` as typed; without it, the new-application form's)."""
    return ctx.render(
        "admin/applications.html",
        status=status_of(exc) if exc else 200,
        title="Applications",
        applications=application.get_list(ctx.db),
        token=token,
        done=done,
        editing=editing,
        typed=name,
        **(refusal(exc, LABELS) if exc else {}),
    )


def routes() -> list[Route]:
    return [
        Route(PATH, application_list, methods=["GET"]),
        Route(PATH, create_application, methods=["POST"]),
        Route(PATH + "/{id:id}/rename", rename_application, methods=["POST"]),
        Route(PATH + "/{id:id}/reset", reset_token, methods=["POST"]),
        Route(PATH + "/{id:id}/delete", delete_application, methods=["POST"]),
    ]
