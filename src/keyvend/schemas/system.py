"""Extensions and the dashboard's counts."""

from __future__ import annotations

from enum import StrEnum

from keyvend.schemas.common import Schema


class ExtensionStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    NOT_INSTALLED = "not_installed"


class ExtensionPublic(Schema):
    id: str
    name: str
    type: str = "mod"
    version: str
    description: str
    status: ExtensionStatus


class DashboardCounts(Schema):
    """Totals shown on the dashboard; `active_keys` is None while the key table is gone."""

    products: int
    enabled_products: int
    clients: int
    orders: int
    active_orders: int
    suspended_orders: int
    pending_orders: int
    active_keys: int | None
