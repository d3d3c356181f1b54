"""The cart and what checking it out produced."""

from __future__ import annotations

from keyvend.schemas.common import Money, Schema
from keyvend.schemas.invoice import PaymentStart


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
    currency: str


class CheckoutPublic(Schema):
    """The orders a checkout placed; `activated` lists those that got their key at once.

    A checkout whose total is above zero also issued one unpaid invoice (`invoice_id`,
    `invoice_hash` for the pay link); with a `gateway` asked for, `payment` says how to pay.
    """

    order_id: int
    orders: list[int]
    activated: list[int]
    total: str
    currency: str
    invoice_id: int | None = None
    invoice_hash: str | None = None
    payment: PaymentStart | None = None
