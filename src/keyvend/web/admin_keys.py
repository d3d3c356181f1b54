"""The key section of the admin order page: reveal, reset, and edit its config and validity."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.services import serviceapikey
from keyvend.web import order_view
from keyvend.web.admin_orders import order_page
from keyvend.web.forms import checked
from keyvend.web.page import Ctx, page
from keyvend.web.product_form import config_from_fields, key_fields_for_action


@page("admin")
def reveal(ctx: Ctx) -> Response:
    """The order's key in full: JSON for the page's script, the page otherwise."""
    order_id = ctx.path_int("id")
    if ctx.wants_json():
        return ctx.json({"key": order_view.reveal(ctx.db, order_id)})
    return order_page(ctx, order_id, revealed=True)


@page("admin")
def reset(ctx: Ctx) -> Response:
    """Issue a new key in the order's current format; the old key dies at once or after the
    chosen overlap."""
    order_id = ctx.path_int("id")
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm the reset first: a new key replaces the current one.")
    overlap = order_view.overlap_of(ctx.form)
    serviceapikey.reset(ctx.db, order_id=order_id, overlap=overlap)
    message = f"Key reset. {order_view.old_key_fate(overlap)}"
    return ctx.redirect(f"/admin/orders/{order_id}", message)


@page("admin")
def update(ctx: Ctx) -> Response:
    """Replace the key's config and validity; the key itself stays until it is reset."""
    order_id = ctx.path_int("id")
    keys, save = key_fields_for_action(ctx.form)
    valid = checked(ctx.form, "valid")
    if not save:
        return order_page(ctx, order_id, keys=keys, valid=valid)
    try:
        serviceapikey.update(
            ctx.db, order_id=order_id, config=config_from_fields(keys), valid=valid
        )
    except KeyvendError as exc:
        return order_page(ctx, order_id, keys=keys, valid=valid, key_error=exc)
    state = "enabled" if valid else "disabled"
    return ctx.redirect(f"/admin/orders/{order_id}", f"Key settings saved; the key is {state}.")


def routes() -> list[Route]:
    return [
        Route("/admin/orders/{id:id}/key", update, methods=["POST"]),
        Route("/admin/orders/{id:id}/key/reveal", reveal, methods=["POST"]),
        Route("/admin/orders/{id:id}/key/reset", reset, methods=["POST"]),
    ]
