"""Server-rendered pages: the admin panel (`/admin`) and the client area (`/`).

`create_app` mounts `routes()` and serves `static_files()` under `/static`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from keyvend.web import (
    admin_clients,
    admin_home,
    admin_keys,
    admin_orders,
    admin_products,
    client_area,
    sessions,
)


def routes() -> list[Route]:
    """Every page route of both areas."""
    return [
        *sessions.routes(),
        *client_area.routes(),
        *admin_home.routes(),
        *admin_products.routes(),
        *admin_clients.routes(),
        *admin_orders.routes(),
        *admin_keys.routes(),
    ]


def static_files() -> StaticFiles:
    """The stylesheet and the small progressive script."""
    return StaticFiles(directory=Path(__file__).parent / "static")
