"""Orders: what admins create, what everyone reads, and an order with its key in one view."""

from __future__ import annotations

from typing import Any

from keyvend.domain.order_states import OrderStatus
from keyvend.schemas.common import Money, Schema, Timestamp


class OrderCreate(Schema):
    """An order for a client; `config` overrides the product's, `activate` issues it at once."""

    client_id: int
    product_id: int
    period: str | None = None
    quantity: int = 1
    config: dict[str, Any] | None = None
    activate: bool = False


class OrderPublic(Schema):
    id: int
    client_id: int
    product_id: int | None
    title: str
    type: str
    status: OrderStatus
    period: str | None
    quantity: int
    price: Money
    config: dict[str, Any]
    reason: str | None
    activated_at: Timestamp | None
    expires_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class ServicePublic(Schema):
    """The service behind an order, as `order/service` shows it (product types extend it)."""

    id: int
    config: dict[str, Any]


class ApiKeyServicePublic(ServicePublic):
    """An API-key service: the key itself, whether it is enabled (`valid`), its config, and
    until when the key a reset replaced keeps working beside it (None: it no longer does)."""

    order_id: int
    api_key: str
    valid: bool
    created_at: Timestamp
    updated_at: Timestamp
    previous_key_until: Timestamp | None = None


class OrderDetail(Schema):
    """An order, its service (None with a `note` saying why) and whether its key checks valid."""

    order: OrderPublic
    service: ApiKeyServicePublic | None
    note: str | None
    valid: bool | None
