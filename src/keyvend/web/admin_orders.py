"""Admin pages for orders: create for a client, the order page and its lifecycle (the list
is `admin_order_list`)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError, NotFound
from keyvend.domain.order_states import Action, allowed_actions
from keyvend.schemas.account import ClientPublic
from keyvend.schemas.order import OrderCreate, OrderPublic
from keyvend.services import activity, client, invoice, order, product
from keyvend.services.pagination import PageRequest
from keyvend.web import admin_activity, order_view
from keyvend.web.forms import checked, form_id
from keyvend.web.page import Ctx, page
from keyvend.web.product_form import KeyFields, key_fields_from_config, sample_key

CHOICES = 500
DONE: dict[Action, str] = {
    Action.ACTIVATE: "Order activated; its key is issued.",
    Action.RENEW: "Order renewed for another period.",
    Action.SUSPEND: "Order suspended; its key no longer checks valid.",
    Action.UNSUSPEND: "Order unsuspended; its key works again.",
    Action.CANCEL: "Order canceled; its key no longer checks valid.",
    Action.UNCANCEL: "Order uncanceled.",
}
WITH_REASON = (Action.SUSPEND, Action.CANCEL)
# Actions that wait for a second, confirming POST (`confirm=1`): a renewal extends the key's
# life without any payment, so a stray click must not do it.
CONFIRMED = {Action.RENEW: "Confirm the renewal first: nothing was renewed."}
NEW_ORDER_FIELDS = ("client_id", "product_id", "period")


@page("admin")
def new_order_form(ctx: Ctx) -> Response:
    """The form that creates an order for a client."""
    values = {"client_id": ctx.query("client_id"), "activate": "1"}
    return _new_order_page(ctx, values)


@page("admin")
def create_order(ctx: Ctx) -> Response:
    """Create an order (optionally activated at once) and open it."""
    values = {name: ctx.form.get(name, "").strip() for name in NEW_ORDER_FIELDS}
    values["activate"] = "1" if checked(ctx.form, "activate") else ""
    try:
        ids = [form_id(values["client_id"], "client"), form_id(values["product_id"], "product")]
        data = OrderCreate(
            client_id=ids[0],
            product_id=ids[1],
            period=values["period"] or None,
            activate=bool(values["activate"]),
        )
        order_id = order.create(ctx.db, data)
    except KeyvendError as exc:
        return _new_order_page(ctx, values, error=exc)
    return ctx.redirect(f"/admin/orders/{order_id}", f"Order #{order_id} created.")


def _new_order_page(
    ctx: Ctx, values: dict[str, str], *, error: KeyvendError | None = None
) -> Response:
    clients = client.get_list(ctx.db, page=PageRequest(1, CHOICES)).list
    products = product.get_list(ctx.db, page=PageRequest(1, CHOICES)).list
    client_choices = [(str(c.id), f"{c.email} ({c.first_name})") for c in clients]
    product_choices = [(str(p.id), f"{p.title} ({p.status})") for p in products]
    return ctx.render(
        "admin/order_new.html",
        status=400 if error else 200,
        title="New order",
        values=values,
        clients=[("", "Choose a client"), *client_choices],
        products=[("", "Choose a product"), *product_choices],
        error=error.message if error else None,
        bad=error.field if error else None,
    )


@page("admin")
def view_order(ctx: Ctx) -> Response:
    """The order page: details, lifecycle actions, and its key."""
    return order_page(ctx, ctx.path_int("id"))


def order_page(
    ctx: Ctx,
    order_id: int,
    *,
    revealed: bool = False,
    keys: KeyFields | None = None,
    valid: bool | None = None,
    error: str | None = None,
    key_error: KeyvendError | None = None,
    confirm_renew: bool = False,
) -> Response:
    """Render the order page; the key form shows `keys` as typed when given, and
    `confirm_renew` unfolds the renewal's confirmation."""
    view = order_view.load(ctx.db, order_id)
    owner = _owner(ctx, view.order.client_id)
    keys = keys or key_fields_from_config(view.config)
    sample, sample_error = sample_key(keys)
    return ctx.render(
        "admin/order.html",
        status=400 if error or key_error else 200,
        title=f"Order #{order_id}",
        view=view,
        owner=owner,
        invoices=invoice.get_list(ctx.db, page=PageRequest(), order_id=order_id).list,
        actions=_allowed(view.order),
        revealed=revealed,
        keys=keys,
        key_valid=view.service.valid if view.service and valid is None else valid,
        sample=sample,
        sample_error=sample_error,
        error=error,
        key_error=key_error.message if key_error else None,
        bad=key_error.field if key_error else None,
        usage=order_view.usage(ctx.db, view),
        overlaps=order_view.OVERLAPS,
        history=admin_activity.rows(activity.history(ctx.db, order_id=order_id)),
        confirm_renew=confirm_renew,
    )


def _owner(ctx: Ctx, client_id: int) -> ClientPublic | None:
    try:
        return client.get(ctx.db, client_id)
    except NotFound:
        return None


def _allowed(found: OrderPublic) -> list[Action]:
    return allowed_actions(found.status, has_period=found.period is not None)


@page("admin")
def change_status(ctx: Ctx) -> Response:
    """Activate, renew (once confirmed), suspend, unsuspend, cancel or uncancel (with a
    reason where it fits)."""
    order_id, name = ctx.path_int("id"), ctx.form.get("action", "")
    if name not in DONE:
        raise InvalidInput("Unknown action")
    action = Action(name)
    if action in CONFIRMED and not checked(ctx.form, "confirm"):
        return order_page(ctx, order_id, error=CONFIRMED[action], confirm_renew=True)
    reason = ctx.form.get("reason", "")[:255] or None if action in WITH_REASON else None
    try:
        order.act(ctx.db, order_id, action, reason=reason)
    except KeyvendError as exc:
        return order_page(ctx, order_id, error=exc.message)
    return ctx.redirect(f"/admin/orders/{order_id}", DONE[action])


@page("admin")
def delete_order(ctx: Ctx) -> Response:
    """Delete an order and its key, after confirmation."""
    order_id = ctx.path_int("id")
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm the deletion first.")
    order.delete(ctx.db, order_id)
    return ctx.redirect("/admin/orders", f"Order #{order_id} and its key were deleted.")


def routes() -> list[Route]:
    return [
        Route("/admin/orders/new", new_order_form, methods=["GET"]),
        Route("/admin/orders/new", create_order, methods=["POST"]),
        Route("/admin/orders/{id:id}", view_order, methods=["GET"]),
        Route("/admin/orders/{id:id}/status", change_status, methods=["POST"]),
        Route("/admin/orders/{id:id}/delete", delete_order, methods=["POST"]),
    ]
