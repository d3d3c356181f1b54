"""The client area (`/`): catalogue, cart and checkout, my services, my keys (my invoices are
in `client_invoices`, my account in `client_account`)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.schemas.cart import CartItemCreate, CheckoutPublic
from keyvend.services import cart, invoice, order, product, serviceapikey
from keyvend.services.cart import CartOwner
from keyvend.services.pagination import PageRequest
from keyvend.web import order_view
from keyvend.web.forms import checked, form_id, is_number
from keyvend.web.page import Ctx, page
from keyvend.web.sessions import login_form

CATALOGUE_PAGE = 50


@page(None)
def home(ctx: Ctx) -> Response:
    """My services, or the login form for anyone who is not a logged-in client."""
    if ctx.actor is None or ctx.actor.role != "client":
        return login_form(ctx, "client")
    orders = order.get_list(ctx.db, page=PageRequest(1, 100), client_id=ctx.actor.id)
    return ctx.render("client/home.html", title="My services", orders=orders.list)


@page(None)
def catalogue(ctx: Ctx) -> Response:
    """Enabled products with their prices and custom parameters, under their labels."""
    result = product.catalogue(ctx.db, page=PageRequest(ctx.page_number(), CATALOGUE_PAGE))
    is_client = ctx.actor is not None and ctx.actor.role == "client"
    return ctx.render("client/catalogue.html", title="Catalogue", result=result, client=is_client)


@page("client")
def cart_page(ctx: Ctx) -> Response:
    """The cart's items, total and the button that places the order."""
    return _cart_page(ctx)


def _cart_page(ctx: Ctx, *, error: str | None = None, status: int = 200) -> Response:
    items = cart.get(ctx.db, CartOwner(client_id=ctx.actor_id))
    return ctx.render("client/cart.html", status=status, title="Cart", cart=items, error=error)


@page("client")
def add_to_cart(ctx: Ctx) -> Response:
    """Put a product in the cart for the chosen period."""
    try:
        product_id = form_id(ctx.form.get("product_id", ""), "product")
        item = CartItemCreate(product_id=product_id, period=ctx.form.get("period", "") or None)
        cart.add_item(ctx.db, CartOwner(client_id=ctx.actor_id), item)
    except KeyvendError as exc:
        return ctx.redirect("/products", f"Could not add it to your cart: {exc.message}")
    return ctx.redirect("/cart", "Added to your cart. Check it and place your order.")


@page("client")
def remove_from_cart(ctx: Ctx) -> Response:
    """Take one item out of the cart."""
    item = ctx.form.get("item", "")
    cart.remove_item(ctx.db, CartOwner(client_id=ctx.actor_id), int(item) if is_number(item) else 0)
    return ctx.redirect("/cart", "Removed from your cart.")


@page("client")
def checkout(ctx: Ctx) -> Response:
    """Order everything in the cart; free and instant-setup products get their key at once,
    and an order that costs something goes on to its invoice."""
    try:
        result = cart.checkout(ctx.db, ctx.actor_id)
    except KeyvendError as exc:
        return _cart_page(ctx, error=exc.message, status=400)
    return ctx.redirect(*_placed(result))


def _placed(result: CheckoutPublic) -> tuple[str, str]:
    """Where a checkout leads, and what it says there."""
    first, active = result.order_id, result.order_id in result.activated
    if result.invoice_id is not None:
        state = "is active" if active else "is placed"
        return f"/invoices/{result.invoice_id}", f"Order #{first} {state}. Please pay this invoice."
    if active:
        return f"/services/{first}", f"Order #{first} is active. Here is your API key."
    return (
        f"/services/{first}",
        f"Order #{first} is placed; its key is issued once the order is activated.",
    )


@page("client")
def service(ctx: Ctx) -> Response:
    """One of my services: status, expiry, the key (masked) and its custom parameters."""
    return _service_page(ctx, revealed=False)


@page("client")
def reveal(ctx: Ctx) -> Response:
    """Show my key: JSON for the page's script, the page with the key shown otherwise."""
    if ctx.wants_json():
        return ctx.json(
            {"key": order_view.reveal(ctx.db, ctx.path_int("id"), client_id=ctx.actor_id)}
        )
    return _service_page(ctx, revealed=True)


def _service_page(ctx: Ctx, *, revealed: bool) -> Response:
    view = order_view.load(ctx.db, ctx.path_int("id"), client_id=ctx.actor_id)
    invoices = invoice.get_list(
        ctx.db, page=PageRequest(), client_id=ctx.actor_id, order_id=view.order.id
    ).list
    base = str(ctx.request.base_url).rstrip("/")
    return ctx.render(
        "client/service.html",
        title=view.order.title,
        view=view,
        invoices=invoices,
        unpaid=next((i for i in invoices if i.status == "unpaid"), None),
        renewable=order_view.renewable(view.order),
        revealed=revealed,
        base_url=base,
        usage=order_view.usage(ctx.db, view, client_id=ctx.actor_id),
        overlaps=order_view.OVERLAPS,
    )


@page("client")
def reset_key(ctx: Ctx) -> Response:
    """Replace my key with a new one; the old one stops working at once or after the chosen
    overlap."""
    order_id = ctx.path_int("id")
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm the reset first: a new key replaces the current one.")
    overlap = order_view.overlap_of(ctx.form)
    serviceapikey.reset(ctx.db, order_id=order_id, client_id=ctx.actor_id, overlap=overlap)
    message = f"Your key was reset. {order_view.old_key_fate(overlap)}"
    return ctx.redirect(f"/services/{order_id}", message)


def routes() -> list[Route]:
    return [
        Route("/", home, methods=["GET"]),
        Route("/products", catalogue, methods=["GET"]),
        Route("/cart", cart_page, methods=["GET"]),
        Route("/cart/add", add_to_cart, methods=["POST"]),
        Route("/cart/remove", remove_from_cart, methods=["POST"]),
        Route("/checkout", checkout, methods=["POST"]),
        Route("/services/{id:id}", service, methods=["GET"]),
        Route("/services/{id:id}/reveal", reveal, methods=["POST"]),
        Route("/services/{id:id}/reset", reset_key, methods=["POST"]),
    ]
