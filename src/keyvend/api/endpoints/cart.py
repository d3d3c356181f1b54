"""cart: add products (guest or client) and check out (client)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from keyvend.api.endpoints.fields import Gateway, Id, IdParams
from keyvend.api.endpoints.order import Period
from keyvend.api.registry import Call, NoParams, Params, endpoint
from keyvend.domain.vault import new_token
from keyvend.edge.cookies import CART_COOKIE
from keyvend.schemas.cart import CartItemCreate, CartPublic, CheckoutPublic
from keyvend.services import cart
from keyvend.services.cart import CartOwner


class AddItemParams(Params):
    id: Id
    period: Period | None = None
    quantity: Annotated[int, Field(ge=1, le=100)] = 1


@endpoint("guest", "cart", "add_item", AddItemParams)
def add_item(call: Call, p: AddItemParams) -> bool:
    """Put a product (id) in the cart, with a period for recurrent pricing."""
    item = CartItemCreate(product_id=p.id, period=p.period, quantity=p.quantity)
    return cart.add_item(call.db, owner(call, create=True), item)


@endpoint("guest", "cart", "get")
def get(call: Call, p: NoParams) -> CartPublic:
    """The cart's items and total."""
    return cart.get(call.db, owner(call, create=False))


@endpoint("guest", "cart", "remove_item", IdParams)
def remove_item(call: Call, p: IdParams) -> bool:
    """Remove item number id (as `get` numbers them)."""
    return cart.remove_item(call.db, owner(call, create=False), p.id)


@endpoint("guest", "cart", "reset")
def reset(call: Call, p: NoParams) -> bool:
    """Empty the cart."""
    return cart.reset(call.db, owner(call, create=False))


class CheckoutParams(Params):
    gateway: Gateway | None = None


@endpoint("client", "cart", "checkout", CheckoutParams, gateway=True)
def checkout(call: Call, p: CheckoutParams) -> CheckoutPublic:
    """Order everything in your cart: {order_id, orders, activated, total, currency,
    invoice_id, invoice_hash, payment}; with a gateway, `payment` says how to pay."""
    return cart.checkout(call.db, call.actor_id, gateways=call.gateways, gateway=p.gateway)


def owner(call: Call, *, create: bool) -> CartOwner:
    """A client's cart when one calls; otherwise the visitor's cookie cart."""
    if call.actor is not None and call.actor.role == "client":
        return CartOwner(client_id=call.actor.id)
    token = call.request.cookies.get(CART_COOKIE)
    if token is None and create:
        token = new_token()
        call.set_cookie(CART_COOKIE, token, max_age=cart.GUEST_CART_DAYS * 86400)
    return CartOwner(token_digest=call.db.vault.token_digest(token) if token else None)
