"""The shopping cart (FOSSBilling's `cart` module) and checkout."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from keyvend.adapters.gateways.base import Gateways
from keyvend.db.models import Cart, Client, Invoice, Order, Product
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, GatewayError, InvalidInput, NotFound
from keyvend.domain.invoice_states import ItemTask
from keyvend.domain.money import show
from keyvend.domain.order_states import Action, OrderStatus
from keyvend.domain.periods import parse_period
from keyvend.domain.pricing import price_for
from keyvend.schemas.cart import CartItemCreate, CartPublic, CheckoutPublic
from keyvend.schemas.common import in_currency
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductSetup, ProductStatus
from keyvend.services import invoice as invoices
from keyvend.services import order as orders
from keyvend.services import payment as payments
from keyvend.services.invoice import Line
from keyvend.services.product_types import get_type

log = logging.getLogger("keyvend.cart")
MAX_ITEMS = 20
GUEST_CART_DAYS = 30  # a visitor's cart (and its cookie) lives this long after its last change


@dataclass(frozen=True)
class CartOwner:
    """A cart belongs to a client, or to an anonymous visitor's cookie token digest."""

    client_id: int | None = None
    token_digest: str | None = None


def add_item(db: Database, owner: CartOwner, data: CartItemCreate) -> bool:
    """Put an enabled product in the cart, checking its period and price now.

    The cart row is locked while the item is added, so concurrent adds all land; two first
    adds that both create the cart clash on its unique owner, and the loser simply retries.
    """
    period_text = str(parse_period(data.period)) if data.period else None
    if not 1 <= data.quantity <= orders.MAX_QUANTITY:
        raise InvalidInput(
            f"quantity must be a whole number from 1 to {orders.MAX_QUANTITY}", field="quantity"
        )
    item = {"product_id": data.product_id, "period": period_text, "quantity": data.quantity}
    try:
        _add(db, owner, item)
    except Conflict:
        _add(db, owner, item)  # the cart was created meanwhile; now it is there to lock
    return True


def _add(db: Database, owner: CartOwner, item: dict[str, Any]) -> None:
    with db.unit_of_work() as uow:
        product = _orderable(uow, item["product_id"])
        price_for(product.pricing, item["period"])
        cart = _cart(uow, owner, create=True, lock=True)
        assert cart is not None
        if len(cart.items) >= MAX_ITEMS:
            raise InvalidInput(f"A cart holds at most {MAX_ITEMS} items")
        cart.items = [*cart.items, item]
        cart.updated_at = uow.now()
        uow.commit()


def remove_item(db: Database, owner: CartOwner, item_id: int) -> bool:
    """Take item number `item_id` (1-based, as `get` lists them) out of the cart."""
    with db.unit_of_work() as uow:
        cart = _cart(uow, owner, create=False, lock=True)
        if cart is None or not 1 <= item_id <= len(cart.items):
            raise NotFound("Cart item not found")
        cart.items = [item for i, item in enumerate(cart.items, 1) if i != item_id]
        cart.updated_at = uow.now()
        uow.commit()
    return True


def get(db: Database, owner: CartOwner) -> CartPublic:
    """The cart's items with their current prices and the total."""
    with db.unit_of_work(read_only=True) as uow:
        cart = _cart(uow, owner, create=False)
        items: list[dict[str, Any]] = []
        for number, item in enumerate(cart.items if cart else [], 1):
            product = uow.session.get(Product, item["product_id"])
            if product is None:
                continue
            try:
                unit: Decimal | None = price_for(product.pricing, item["period"])
            except InvalidInput:  # the period was withdrawn since: show it, checkout refuses
                unit = None
            items.append(
                {
                    "id": number,
                    "product_id": product.id,
                    "title": product.title,
                    "period": item["period"],
                    "quantity": item["quantity"],
                    "available": unit is not None,
                    "price": unit,
                    "total": unit * item["quantity"] if unit is not None else None,
                }
            )
    total = sum((i["total"] for i in items if i["total"] is not None), Decimal(0))
    currency = db.shop.currency
    return CartPublic.model_validate(
        {"items": items, "total": total, "currency": currency}, context=in_currency(currency)
    )


def reset(db: Database, owner: CartOwner) -> bool:
    """Empty the cart."""
    with db.unit_of_work() as uow:
        cart = _cart(uow, owner, create=False, lock=True)
        if cart is not None:
            cart.items = []
            cart.updated_at = uow.now()
            uow.commit()
    return True


def checkout(
    db: Database,
    client_id: int,
    *,
    gateways: Gateways | None = None,
    gateway: str | None = None,
) -> CheckoutPublic:
    """Turn the client's cart into orders and, when it costs something, one unpaid invoice
    with a line per order, all in one transaction; free and after_order orders activate.
    With a `gateway` (checked before anything changes), `payment` says how to pay.

    The cart row is locked first: a second checkout at the same moment waits, then finds the
    cart empty, so one cart never becomes two sets of orders or two invoices.
    """
    chosen = gateways.get(gateway) if gateways is not None and gateway is not None else None
    placed, activated, invoice = _place_cart(db, client_id)
    currency = db.shop.currency
    result = CheckoutPublic(
        order_id=placed[0],
        orders=placed,
        activated=activated,
        total=show(invoice.total if invoice else 0, currency),
        currency=currency,
        invoice_id=invoice.id if invoice else None,
        invoice_hash=invoice.hash if invoice else None,
    )
    if chosen is not None and gateways is not None and invoice is not None:
        try:
            result.payment = payments.start_payment(db, gateways, invoice.hash, chosen.name)
        except GatewayError as exc:  # the orders and invoice stand; the pay link retries
            log.warning("payment start failed at checkout", extra={"error": exc.message})
    return result


def _place_cart(db: Database, client_id: int) -> tuple[list[int], list[int], Invoice | None]:
    """The orders placed, those activated, and the invoice issued, in one transaction."""
    with db.unit_of_work() as uow:
        uow.actor = f"client:{client_id}"  # the client's own order: the staff hear of it
        cart = _cart(uow, CartOwner(client_id=client_id), create=False, lock=True)
        if cart is None or not cart.items:
            raise InvalidInput("Your cart is empty")
        client = uow.session.get(Client, client_id)
        if client is None:
            raise NotFound("Client not found")
        placed, activated, lines = [], [], []
        for item in cart.items:
            order, task = _place_item(uow, client_id, item)
            if order.status == OrderStatus.ACTIVE:
                activated.append(order.id)
            lines.append(Line(order, task, order.price / order.quantity, order.quantity))
            placed.append(order)
        total = sum((order.price for order in placed), Decimal(0))
        invoice = invoices.issue(uow, client, lines) if total > 0 else None
        cart.items = []
        uow.commit()
    return [order.id for order in placed], activated, invoice


def _place_item(uow: UnitOfWork, client_id: int, item: dict[str, Any]) -> tuple[Order, ItemTask]:
    """Place one cart item's order, activated at once when it costs nothing (whatever the
    product's other periods cost) or its setup is after_order; and what paying it does."""
    product = _orderable(uow, item["product_id"])
    order = orders.place(
        uow,
        OrderCreate(
            client_id=client_id,
            product_id=product.id,
            period=item["period"],
            quantity=item["quantity"],
        ),
    )
    if order.price == 0 or product.setup == ProductSetup.AFTER_ORDER:
        orders.transition(uow, order, Action.ACTIVATE)
    # A manual product waits for an admin whether paid or not: paying does nothing.
    task = ItemTask.NONE if product.setup == ProductSetup.MANUAL else ItemTask.ACTIVATE
    return order, task


def merge_into_client(db: Database, token_digest: str, client_id: int) -> None:
    """After login, move an anonymous visitor's cart items into the client's cart."""
    with db.unit_of_work() as uow:
        guest = _cart(uow, CartOwner(token_digest=token_digest), create=False, lock=True)
        if guest is None or not guest.items:
            return
        cart = _cart(uow, CartOwner(client_id=client_id), create=True, lock=True)
        assert cart is not None
        cart.items = [*cart.items, *guest.items][:MAX_ITEMS]
        uow.session.delete(guest)
        uow.commit()


def _orderable(uow: UnitOfWork, product_id: int) -> Product:
    product = uow.session.get(Product, product_id)
    if product is None or product.status != ProductStatus.ENABLED:
        raise NotFound("Product not found")
    get_type(product.type).require_available(uow)
    return product


def _cart(uow: UnitOfWork, owner: CartOwner, *, create: bool, lock: bool = False) -> Cart | None:
    if owner.client_id is not None:
        where = Cart.client_id == owner.client_id
    elif owner.token_digest is not None:
        where = Cart.token_digest == owner.token_digest
    else:
        return None
    query = select(Cart).where(where)
    cart = uow.session.scalar(query.with_for_update() if lock else query)
    if cart is None and create:
        cart = Cart(
            client_id=owner.client_id,
            token_digest=None if owner.client_id else owner.token_digest,
            items=[],
            updated_at=uow.now(),
        )
        uow.session.add(cart)
    return cart
