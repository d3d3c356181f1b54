"""Admin pages for clients: list and search, create, and a client's page with their orders,
where the admin edits, suspends, activates or deletes the client and mails them a reset link."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.schemas.account import ClientCreate, ClientStatus, ClientUpdate, NewAccount
from keyvend.services import activity, client, invoice, order, password_reset
from keyvend.services.pagination import PageRequest
from keyvend.web import admin_activity
from keyvend.web.error_pages import status_of
from keyvend.web.forms import checked, refusal
from keyvend.web.page import Ctx, page

PER_PAGE = 50
LISTED = 100  # orders and invoices on a client's page, newest first; the lists link to all
CLIENT_FIELDS = ("email", "first_name", "last_name")
NEW_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "password": "Password",
}
EDIT_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "company": "Company",
    "address_1": "Address",
    "city": "City",
    "postcode": "Postcode",
    "country": "Country",
}
STATUS_DONE = {ClientStatus.ACTIVE: "activated", ClientStatus.SUSPENDED: "suspended"}


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
            **refusal(exc, NEW_LABELS),
        )
    return _client_page(ctx, account.id, created=account, generated=password is None)


@page("admin")
def view_client(ctx: Ctx) -> Response:
    """A client's details, orders, invoices and activity, and the forms that change the
    client."""
    return _client_page(ctx, ctx.path_int("id"))


@page("admin")
def edit_client(ctx: Ctx) -> Response:
    """Save a client's names, email and address; a bad value changes nothing."""
    client_id = ctx.path_int("id")
    values = {name: ctx.form.get(name, "")[:255] for name in EDIT_LABELS}
    try:
        client.update(ctx.db, client_id, ClientUpdate(**values))
    except KeyvendError as exc:
        return _client_page(ctx, client_id, values=values, exc=exc)
    return ctx.redirect(f"/admin/clients/{client_id}", "Client saved.")


@page("admin")
def set_status(ctx: Ctx) -> Response:
    """Suspend a client (they can no longer log in) or activate them again."""
    client_id = ctx.path_int("id")
    status = ctx.form.get("status", "")
    if status not in STATUS_DONE:
        raise InvalidInput("Choose to suspend or activate the client", field="status")
    client.update(ctx.db, client_id, ClientUpdate(status=status))
    done = STATUS_DONE[ClientStatus(status)]
    return ctx.redirect(f"/admin/clients/{client_id}", f"Client {done}.")


@page("admin")
def delete_client(ctx: Ctx) -> Response:
    """Delete a client with their orders and keys, once confirmed."""
    client_id = ctx.path_int("id")
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm first: the client's orders and keys are deleted with them.")
    email = client.get(ctx.db, client_id).email
    client.delete(ctx.db, client_id)
    return ctx.redirect("/admin/clients", f"Client {email} deleted.")


@page("admin")
def send_reset(ctx: Ctx) -> Response:
    """Mail the client a link to set a new password."""
    client_id = ctx.path_int("id")
    password_reset.send_for(ctx.db, "client", client_id)
    return ctx.redirect(
        f"/admin/clients/{client_id}", "A password reset email is on its way to the client."
    )


def _client_page(
    ctx: Ctx,
    client_id: int,
    *,
    created: NewAccount | None = None,
    generated: bool = False,
    values: dict[str, str] | None = None,
    exc: KeyvendError | None = None,
) -> Response:
    """The client's page; after a refused edit, the values typed and the message."""
    found = client.get(ctx.db, client_id)
    orders = order.get_list(ctx.db, page=PageRequest(1, LISTED), client_id=client_id)
    invoices = invoice.get_list(ctx.db, page=PageRequest(1, LISTED), client_id=client_id)
    shown = found.model_dump()
    return ctx.render(
        "admin/client.html",
        status=status_of(exc) if exc else 200,
        title=found.email,
        found=found,
        orders=orders,
        invoices=invoices,
        history=admin_activity.rows(activity.history(ctx.db, client_id=client_id)),
        created=created,
        generated=generated,
        values=values or {name: str(shown[name]) for name in EDIT_LABELS},
        **(refusal(exc, EDIT_LABELS) if exc else {}),
    )


def routes() -> list[Route]:
    return [
        Route("/admin/clients", client_list, methods=["GET"]),
        Route("/admin/clients/new", new_client_form, methods=["GET"]),
        Route("/admin/clients/new", create_client, methods=["POST"]),
        Route("/admin/clients/{id:id}", view_client, methods=["GET"]),
        Route("/admin/clients/{id:id}", edit_client, methods=["POST"]),
        Route("/admin/clients/{id:id}/status", set_status, methods=["POST"]),
        Route("/admin/clients/{id:id}/delete", delete_client, methods=["POST"]),
        Route("/admin/clients/{id:id}/send-reset", send_reset, methods=["POST"]),
    ]
