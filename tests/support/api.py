"""Short calls through the test `Api` for what many API tests ask."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.conftest import Api


def admin_error(api: Api, path: str, **params: Any) -> dict[str, Any]:
    """An admin call that must fail; returns its error object."""
    return api.error(f"admin/{path}", auth=("admin", api.admin_token), **params)
