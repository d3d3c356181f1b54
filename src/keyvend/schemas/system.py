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
    """Totals shown on the dashboard; `active_keys` is None while the key table is gone.

    Money is in the shop's `currency`, as strings (`"19.00"`): `revenue_this_month` sums the
    invoices paid since the first of the month, `unpaid_total` those still unpaid, and
    `overdue_invoices` counts the unpaid ones past their due date.
    """

    products: int
    enabled_products: int
    clients: int
    orders: int
    active_orders: int
    suspended_orders: int
    pending_orders: int
    active_keys: int | None
    currency: str
    revenue_this_month: str
    unpaid_total: str
    overdue_invoices: int
