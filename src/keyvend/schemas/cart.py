"""The cart and what checking it out produced."""

from __future__ import annotations

from keyvend.schemas.common import Money, Schema


class CartItemCreate(Schema):
    product_id: int
    period: str | None = None
    quantity: int = 1


class CartItemPublic(Schema):
    """An item with its current price; `available` is false once its period was withdrawn."""

    id: int
    product_id: int
    title: str
    period: str | None
    quantity: int
    available: bool
    price: Money | None
    total: Money | None


class CartPublic(Schema):
    items: list[CartItemPublic]
    total: Money


class CheckoutPublic(Schema):
    """The orders a checkout placed; `activated` lists those that got their key at once."""

    order_id: int
    orders: list[int]
    activated: list[int]
    total: Money
