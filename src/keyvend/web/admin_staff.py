"""Admin pages for the staff (`/admin/staff`): every administrator, a new one (its password,
if generated, and API token shown once), and one admin's page to edit or delete them."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.schemas.account import NewAccount, StaffCreate, StaffUpdate
from keyvend.services import staff
from keyvend.web.error_pages import status_of
from keyvend.web.forms import checked, refusal
from keyvend.web.page import Ctx, page

LABELS = {"name": "Name", "email": "Email", "password": "Password"}


@page("admin")
def staff_list(ctx: Ctx) -> Response:
    """Every administrator, and the form that adds one."""
    return _staff_page(ctx)


@page("admin")
def create_admin(ctx: Ctx) -> Response:
    """Add an administrator; their password (if generated) and API token are shown once."""
    email, name = ctx.form.get("email", "")[:255], ctx.form.get("name", "")[:255]
    password = ctx.form.get("password", "")[:256] or None
    try:
        account = staff.create_admin(
            ctx.db, StaffCreate(email=email, name=name or None, password=password)
        )
    except KeyvendError as exc:
        return _staff_page(ctx, values={"email": email, "name": name}, exc=exc)
    return _staff_page(ctx, created=account, generated=password is None)


@page("admin")
def view_admin(ctx: Ctx) -> Response:
    """One administrator: edit their name and email, or delete them."""
    return _admin_page(ctx, ctx.path_int("id"))


@page("admin")
def edit_admin(ctx: Ctx) -> Response:
    """Save an administrator's name and email; a bad value changes nothing."""
    admin_id = ctx.path_int("id")
    values = {name: ctx.form.get(name, "")[:255] for name in ("name", "email")}
    try:
        staff.update(ctx.db, admin_id, StaffUpdate(**values))
    except KeyvendError as exc:
        return _admin_page(ctx, admin_id, values=values, exc=exc)
    return ctx.redirect(f"/admin/staff/{admin_id}", "Admin saved.")


@page("admin")
def delete_admin(ctx: Ctx) -> Response:
    """Delete an administrator once confirmed; never the last one."""
    admin_id = ctx.path_int("id")
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm first: the admin can no longer log in.")
    email = staff.get_profile(ctx.db, admin_id).email
    try:
        staff.delete(ctx.db, admin_id)
    except KeyvendError as exc:
        return _admin_page(ctx, admin_id, exc=exc)
    return ctx.redirect("/admin/staff", f"Admin {email} deleted.")


def _staff_page(
    ctx: Ctx,
    *,
    values: dict[str, str] | None = None,
    exc: KeyvendError | None = None,
    created: NewAccount | None = None,
    generated: bool = False,
) -> Response:
    return ctx.render(
        "admin/staff.html",
        status=status_of(exc) if exc else 200,
        title="Staff",
        admins=staff.get_list(ctx.db),
        values=values or {},
        created=created,
        generated=generated,
        **(refusal(exc, LABELS) if exc else {}),
    )


def _admin_page(
    ctx: Ctx,
    admin_id: int,
    *,
    values: dict[str, str] | None = None,
    exc: KeyvendError | None = None,
) -> Response:
    found = staff.get_profile(ctx.db, admin_id)
    return ctx.render(
        "admin/staff_member.html",
        status=status_of(exc) if exc else 200,
        title=found.email,
        found=found,
        values=values or {"name": found.name, "email": found.email},
        yourself=found.id == ctx.actor_id,
        **(refusal(exc, LABELS) if exc else {}),
    )


def routes() -> list[Route]:
    return [
        Route("/admin/staff", staff_list, methods=["GET"]),
        Route("/admin/staff", create_admin, methods=["POST"]),
        Route("/admin/staff/{id:id}", view_admin, methods=["GET"]),
        Route("/admin/staff/{id:id}", edit_admin, methods=["POST"]),
        Route("/admin/staff/{id:id}/delete", delete_admin, methods=["POST"]),
    ]
