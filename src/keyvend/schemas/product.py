"""Products: the admin's full view, the catalogue's view, and the changes an admin sends."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from keyvend.schemas.common import Schema, Timestamp


class ProductStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class ProductSetup(StrEnum):
    """When an order's service is issued."""

    AFTER_ORDER = "after_order"
    AFTER_PAYMENT = "after_payment"
    MANUAL = "manual"


class ProductCreate(Schema):
    title: str
    type: str = "apikey"


class ProductUpdate(Schema):
    """Fields left unset (or null) are not changed."""

    title: str | None = None
    description: str | None = None
    status: str | None = None
    setup: str | None = None
    pricing: dict[str, Any] | None = None


class ProductPublic(Schema):
    id: int
    title: str
    description: str
    type: str
    status: ProductStatus
    setup: ProductSetup
    pricing: dict[str, Any]
    config: dict[str, Any]
    created_at: Timestamp
    updated_at: Timestamp


class ProductOffer(Schema):
    """What anyone may see of an enabled product: no key format, only its custom parameters."""

    id: int
    title: str
    description: str
    type: str
    pricing: dict[str, Any]
    params: dict[str, Any]
    # What customers read for each parameter: its `label_<name>`, or its name in words.
    labels: dict[str, str]
