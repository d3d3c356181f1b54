"""Server-rendered pages: the admin panel (`/admin`), the client area (`/`), the invoices' pay
links (`/invoice/{hash}`) and the forgotten-password pages of both areas.

`create_app` mounts `routes()` and serves `static_files()` under `/static`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from keyvend.web import (
    admin_account,
    admin_activity,
    admin_applications,
    admin_clients,
    admin_emails,
    admin_home,
    admin_invoices,
    admin_keys,
    admin_order_list,
    admin_orders,
    admin_products,
    admin_settings,
    admin_staff,
    admin_webhooks,
    client_account,
    client_area,
    client_invoices,
    guest_invoice,
    password_reset,
    sessions,
)


def routes() -> list[Route]:
    """Every page route of both areas."""
    return [
        *sessions.routes(),
        *password_reset.routes(),
        *client_area.routes(),
        *client_account.routes(),
        *client_invoices.routes(),
        *guest_invoice.routes(),
        *admin_home.routes(),
        *admin_products.routes(),
        *admin_clients.routes(),
        *admin_order_list.routes(),
        *admin_orders.routes(),
        *admin_keys.routes(),
        *admin_applications.routes(),
        *admin_invoices.routes(),
        *admin_settings.routes(),
        *admin_staff.routes(),
        *admin_account.routes(),
        *admin_emails.routes(),
        *admin_activity.routes(),
        *admin_webhooks.routes(),
    ]


def static_files() -> StaticFiles:
    """The stylesheet and the small progressive script."""
    return StaticFiles(directory=Path(__file__).parent / "static")
