"""What an order page shows, for admins and clients alike: the order, its key, whether it works."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import NotFound
from keyvend.domain.keygen import custom_params
from keyvend.domain.order_states import Action, allowed_actions
from keyvend.schemas.order import ApiKeyServicePublic, OrderDetail, OrderPublic
from keyvend.services import order


@dataclass(frozen=True)
class OrderView:
    """An order with its API-key service, read in one transaction (`order.detail`)."""

    detail: OrderDetail

    @property
    def order(self) -> OrderPublic:
        return self.detail.order

    @property
    def service(self) -> ApiKeyServicePublic | None:
        return self.detail.service

    @property
    def note(self) -> str | None:
        """Why there is no key to show, if there is none."""
        return self.detail.note

    @property
    def valid(self) -> bool | None:
        return self.detail.valid

    @property
    def key(self) -> str | None:
        return self.service.api_key if self.service else None

    @property
    def config(self) -> dict[str, Any]:
        return self.service.config if self.service else self.order.config

    @property
    def params(self) -> dict[str, Any]:
        return custom_params(self.config)

    @property
    def prefix(self) -> str:
        return str(self.config.get("prefix") or "")


def load(db: Database, order_id: int, *, client_id: int | None = None) -> OrderView:
    """The order (a client only finds their own), its service and the key's validity now."""
    return OrderView(order.detail(db, order_id, client_id=client_id))


def reveal(db: Database, order_id: int, *, client_id: int | None = None) -> str:
    """The plain key of an order, for the owner or an admin who asked to see it."""
    found = order.service(db, order_id, client_id=client_id)
    if not isinstance(found, ApiKeyServicePublic):
        raise NotFound("This order has no API key")
    return found.api_key


def renewable(found: OrderPublic) -> bool:
    """Whether "Renew now" may bill the order for another period: it has a price and a
    period, and a renewal may start from its status."""
    has_period = found.period is not None
    return found.price > 0 and Action.RENEW in allowed_actions(found.status, has_period)
