"""Admin pages for products: list, create, and the edit form with its live sample key."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.schemas.product import ProductCreate, ProductPublic, ProductUpdate
from keyvend.services import product
from keyvend.services.pagination import PageRequest
from keyvend.web.forms import Form, checked, refusal
from keyvend.web.page import Ctx, page
from keyvend.web.product_form import (
    KeyFields,
    PricingFields,
    config_from_fields,
    key_fields_for_action,
    key_fields_from_config,
    key_fields_from_form,
    pricing_fields_from_form,
    pricing_fields_from_pricing,
    pricing_from_fields,
    sample_key,
)

PRODUCT_FIELDS = ("title", "description", "status", "setup")
PER_PAGE = 50


@page("admin")
def product_list(ctx: Ctx) -> Response:
    """Every product, filtered by a title search and status."""
    search, status = ctx.query("search").strip(), ctx.query("status")
    result = product.get_list(
        ctx.db,
        page=PageRequest(ctx.page_number(), PER_PAGE),
        search=search or None,
        status=status or None,
    )
    return ctx.render(
        "admin/products.html", title="Products", result=result, search=search, status_filter=status
    )


@page("admin")
def new_product_form(ctx: Ctx) -> Response:
    """The form that creates a product."""
    return ctx.render("admin/product_new.html", title="New product", values={})


@page("admin")
def create_product(ctx: Ctx) -> Response:
    """Create a product (disabled and free) and go on to its settings."""
    values = {"title": ctx.form.get("title", "")[:255], "type": ctx.form.get("type", "apikey")[:50]}
    try:
        product_id = product.prepare(
            ctx.db, ProductCreate(title=values["title"], type=values["type"])
        )
    except KeyvendError as exc:
        return ctx.render(
            "admin/product_new.html",
            status=400,
            title="New product",
            values=values,
            **refusal(exc, {"title": "Title"}),
        )
    message = "Product created. It starts disabled and free: set it up, then enable it."
    return ctx.redirect(f"/admin/products/{product_id}", message)


@page("admin")
def edit_product(ctx: Ctx) -> Response:
    """The product form: details, pricing, key format and custom parameters."""
    found = product.get(ctx.db, ctx.path_int("id"))
    values = {name: str(getattr(found, name)) for name in PRODUCT_FIELDS}
    keys = key_fields_from_config(found.config)
    return _edit_page(ctx, found, values, keys, pricing_fields_from_pricing(found.pricing))


@page("admin")
def save_product(ctx: Ctx) -> Response:
    """Save every part of the product form at once, or nothing; Add/Delete row only re-render."""
    found = product.get(ctx.db, ctx.path_int("id"))
    values = {name: ctx.form.get(name, "") for name in PRODUCT_FIELDS}
    keys, save = key_fields_for_action(ctx.form)
    pricing = pricing_fields_from_form(ctx.form)
    if not save:
        return _edit_page(ctx, found, values, keys, pricing)
    try:
        product.save(
            ctx.db,
            found.id,
            config=config_from_fields(keys),
            changes=ProductUpdate(pricing=pricing_from_fields(pricing), **values),
        )
    except KeyvendError as exc:
        return _edit_page(ctx, found, values, keys, pricing, error=exc)
    return ctx.redirect(f"/admin/products/{found.id}", f"Product “{values['title']}” saved.")


def _edit_page(
    ctx: Ctx,
    found: ProductPublic,
    values: dict[str, str],
    keys: KeyFields,
    pricing: PricingFields,
    *,
    error: KeyvendError | None = None,
) -> Response:
    sample, sample_error = sample_key(keys)
    return ctx.render(
        "admin/product_edit.html",
        status=400 if error else 200,
        title=f"Product: {found.title}",
        product=found,
        values=values,
        keys=keys,
        pricing=pricing,
        sample=sample,
        sample_error=sample_error,
        error=error.message if error else None,
        bad=error.field if error else None,
    )


@page("admin")
def sample(ctx: Ctx) -> Response:
    """A key the given settings would produce and their limits in words, for the form's
    live preview (JSON)."""
    fields = key_fields_from_form(_query_form(ctx))
    key, problem = sample_key(fields)
    return ctx.json({"sample": key, "error": problem, "limits": fields.limits_summary})


@page("admin")
def delete_product(ctx: Ctx) -> Response:
    """Delete a product that has no live orders."""
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm the deletion first.")
    product.delete(ctx.db, ctx.path_int("id"))
    return ctx.redirect("/admin/products", "Product deleted.")


def _query_form(ctx: Ctx) -> Form:
    """The key fields the live sample sends in the query string, read as a form."""
    items = list(ctx.request.query_params.multi_items())[:500]
    return Form((name, value[:1000]) for name, value in items)


def routes() -> list[Route]:
    return [
        Route("/admin/products", product_list, methods=["GET"]),
        Route("/admin/products/new", new_product_form, methods=["GET"]),
        Route("/admin/products/new", create_product, methods=["POST"]),
        Route("/admin/products/sample", sample, methods=["GET"]),
        Route("/admin/products/{id:id}", edit_product, methods=["GET"]),
        Route("/admin/products/{id:id}", save_product, methods=["POST"]),
        Route("/admin/products/{id:id}/delete", delete_product, methods=["POST"]),
    ]
