"""The admin dashboard and the extensions page."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError, NotFound
from keyvend.services import dashboard, extension, order, staff, usage
from keyvend.services.pagination import PageRequest
from keyvend.web.forms import checked
from keyvend.web.page import Ctx, page
from keyvend.web.sessions import login_form

MOST_USED = 5


@page(None)
def home(ctx: Ctx) -> Response:
    """The dashboard, or the login form for anyone who is not a logged-in admin."""
    if ctx.actor is None or ctx.actor.role != "admin":
        return login_form(ctx, "admin")
    return ctx.render(
        "admin/dashboard.html",
        title="Dashboard",
        profile=staff.get_profile(ctx.db, ctx.actor.id),
        counts=dashboard.counts(ctx.db),
        recent=order.get_list(ctx.db, page=PageRequest(1, 8)).list,
        checks_today=usage.checks_today(ctx.db),
        most_used=usage.most_used(ctx.db, limit=MOST_USED),
    )


@page("admin")
def extensions(ctx: Ctx) -> Response:
    """Every extension with its status and the actions it allows."""
    return _extensions_page(ctx)


def _extensions_page(ctx: Ctx, *, error: str | None = None) -> Response:
    return ctx.render(
        "admin/extensions.html",
        status=400 if error else 200,
        title="Extensions",
        extensions=extension.get_list(ctx.db),
        error=error,
    )


@page("admin")
def change_extension(ctx: Ctx) -> Response:
    """Activate, deactivate or (with explicit confirmation) uninstall an extension."""
    name, action = ctx.request.path_params["name"][:64], ctx.form.get("action", "")
    try:
        if action == "activate":
            extension.activate(ctx.db, name)
        elif action == "deactivate":
            extension.deactivate(ctx.db, name)
        elif action == "uninstall":
            extension.uninstall(ctx.db, name, confirm=checked(ctx.form, "confirm"))
        else:
            raise InvalidInput("Unknown action")
    except NotFound:
        raise
    except KeyvendError as exc:
        return _extensions_page(ctx, error=exc.message)
    return ctx.redirect("/admin/extensions", f"Extension {name}: {action} done.")


def routes() -> list[Route]:
    return [
        Route("/admin", home, methods=["GET"]),
        Route("/admin/extensions", extensions, methods=["GET"]),
        Route("/admin/extensions/{name:str}", change_extension, methods=["POST"]),
    ]
