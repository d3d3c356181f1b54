"""Server-rendered pages: the admin panel (`/admin`), the client area (`/`) and the
invoices' pay links (`/invoice/{hash}`).

`create_app` mounts `routes()` and serves `static_files()` under `/static`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from keyvend.web import (
    admin_clients,
    admin_home,
    admin_invoices,
    admin_keys,
    admin_orders,
    admin_products,
    admin_settings,
    client_area,
    client_invoices,
    guest_invoice,
    sessions,
)


def routes() -> list[Route]:
    """Every page route of both areas."""
    return [
        *sessions.routes(),
        *client_area.routes(),
        *client_invoices.routes(),
        *guest_invoice.routes(),
        *admin_home.routes(),
        *admin_products.routes(),
        *admin_clients.routes(),
        *admin_orders.routes(),
        *admin_keys.routes(),
        *admin_invoices.routes(),
        *admin_settings.routes(),
    ]


def static_files() -> StaticFiles:
    """The stylesheet and the small progressive script."""
    return StaticFiles(directory=Path(__file__).parent / "static")
