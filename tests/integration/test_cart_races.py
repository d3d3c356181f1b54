"""Concurrent carts on real SQLite and PostgreSQL: one checkout wins, every acknowledged add lands.

Billing charges for the orders a checkout places, so a cart must never become two sets of
orders, and an item whose add was acknowledged must never be lost to a concurrent add.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from keyvend.db.models import ApiKeyService, Order
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import InvalidInput
from keyvend.schemas.cart import CartItemCreate
from keyvend.services import cart
from keyvend.services.cart import CartOwner
from tests.support.concurrency import at_once


def orders_and_keys(db: Database, client_id: int) -> tuple[int, int]:
    with db.unit_of_work(read_only=True) as uow:
        placed = uow.session.scalar(
            select(func.count(Order.id)).where(Order.client_id == client_id)
        )
        keys = uow.session.scalar(
            select(func.count(ApiKeyService.id)).where(ApiKeyService.client_id == client_id)
        )
    return int(placed or 0), int(keys or 0)


def fill(db: Database, owner: CartOwner, product_id: int, items: int) -> None:
    for _ in range(items):
        cart.add_item(db, owner, CartItemCreate(product_id=product_id, period="1M"))


def test_two_checkouts_at_once_of_a_one_item_cart_place_one_order(
    db: Database, product_id: int, customer: dict[str, Any]
) -> None:
    owner = CartOwner(client_id=customer["id"])
    for _ in range(5):  # several rounds: a race lost once in a while still shows
        fill(db, owner, product_id, 1)
        outcomes = at_once([lambda: cart.checkout(db, customer["id"])] * 2)
        winners = [o for o in outcomes if not isinstance(o, Exception)]
        assert len(winners) == 1, outcomes
        loser = next(o for o in outcomes if isinstance(o, Exception))
        assert isinstance(loser, InvalidInput) and loser.message == "Your cart is empty"
    assert orders_and_keys(db, customer["id"]) == (5, 5)


def test_twenty_checkouts_at_once_of_a_three_item_cart_place_three_orders(
    db: Database, product_id: int, customer: dict[str, Any]
) -> None:
    owner = CartOwner(client_id=customer["id"])
    fill(db, owner, product_id, 3)
    outcomes = at_once([lambda: cart.checkout(db, customer["id"])] * 20)
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(winners) == 1, outcomes
    assert len(winners[0].orders) == 3
    assert orders_and_keys(db, customer["id"]) == (3, 3)
    assert cart.get(db, owner).items == []


def test_concurrent_adds_keep_every_acknowledged_item(
    db: Database, product_id: int, customer: dict[str, Any]
) -> None:
    for owner in (CartOwner(client_id=customer["id"]), CartOwner(token_digest="d" * 64)):
        item = CartItemCreate(product_id=product_id, period="1M")
        outcomes = at_once([lambda o=owner, i=item: cart.add_item(db, o, i)] * 12)
        assert outcomes == [True] * 12  # the first adds race to create the cart: all land
        assert len(cart.get(db, owner).items) == 12
