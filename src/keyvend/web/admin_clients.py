"""Admin pages for clients: list and search, create, and a client's page with their orders."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import KeyvendError
from keyvend.schemas.account import ClientCreate, NewAccount
from keyvend.services import client, order
from keyvend.services.pagination import PageRequest
from keyvend.web.page import Ctx, page

PER_PAGE = 50
CLIENT_FIELDS = ("email", "first_name", "last_name")


@page("admin")
def client_list(ctx: Ctx) -> Response:
    """Clients, newest first; search by email or name."""
    search = ctx.query("search").strip()
    result = client.get_list(
        ctx.db, search=search or None, page=PageRequest(ctx.page_number(), PER_PAGE)
    )
    return ctx.render("admin/clients.html", title="Clients", result=result, search=search)


@page("admin")
def new_client_form(ctx: Ctx) -> Response:
    """The form that creates a client."""
    return ctx.render("admin/client_new.html", title="New client", values={})


@page("admin")
def create_client(ctx: Ctx) -> Response:
    """Create a client; their password (if generated) and API token are shown once."""
    values = {name: ctx.form.get(name, "")[:255] for name in CLIENT_FIELDS}
    password = ctx.form.get("password", "")[:256] or None
    try:
        account = client.create(ctx.db, ClientCreate(password=password, **values))
    except KeyvendError as exc:
        return ctx.render(
            "admin/client_new.html",
            status=400,
            title="New client",
            values=values,
            error=exc.message,
            bad=exc.field,
        )
    return _client_page(ctx, account.id, created=account, generated=password is None)


@page("admin")
def view_client(ctx: Ctx) -> Response:
    """A client's details and orders."""
    return _client_page(ctx, ctx.path_int("id"))


def _client_page(
    ctx: Ctx, client_id: int, *, created: NewAccount | None = None, generated: bool = False
) -> Response:
    found = client.get(ctx.db, client_id)
    orders = order.get_list(ctx.db, page=PageRequest(1, 100), client_id=client_id).list
    return ctx.render(
        "admin/client.html",
        title=found.email,
        found=found,
        orders=orders,
        created=created,
        generated=generated,
    )


def routes() -> list[Route]:
    return [
        Route("/admin/clients", client_list, methods=["GET"]),
        Route("/admin/clients/new", new_client_form, methods=["GET"]),
        Route("/admin/clients/new", create_client, methods=["POST"]),
        Route("/admin/clients/{id:id}", view_client, methods=["GET"]),
    ]
