"""What an order page shows, for admins and clients alike: the order, its key, whether it works."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import KeyvendError
from keyvend.domain.keygen import custom_params
from keyvend.services import order, serviceapikey


@dataclass(frozen=True)
class OrderView:
    """An order with its API-key service; `note` says why there is no key to show."""

    order: dict[str, Any]
    service: dict[str, Any] | None
    note: str | None
    valid: bool | None

    @property
    def key(self) -> str | None:
        return self.service["api_key"] if self.service else None

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.service["config"] if self.service else self.order["config"]
        return config

    @property
    def params(self) -> dict[str, Any]:
        return custom_params(self.config)

    @property
    def prefix(self) -> str:
        return str(self.config.get("prefix") or "")


def load(db: Database, order_id: int, *, client_id: int | None = None) -> OrderView:
    """The order (a client only finds their own), its service and the key's validity now."""
    found = order.get(db, order_id, client_id=client_id)
    try:
        service = order.service(db, order_id, client_id=client_id)
    except KeyvendError as exc:  # no key yet, or the extension is off
        return OrderView(found, None, exc.message, None)
    valid = serviceapikey.check(db, service["api_key"]) if "api_key" in service else None
    return OrderView(found, service if "api_key" in service else None, None, valid)


def reveal(db: Database, order_id: int, *, client_id: int | None = None) -> str:
    """The plain key of an order, for the owner or an admin who asked to see it."""
    key = order.service(db, order_id, client_id=client_id).get("api_key")
    if not isinstance(key, str):
        raise KeyvendError("This order has no API key")
    return key
