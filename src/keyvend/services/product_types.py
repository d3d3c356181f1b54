"""Product types are extensions: a registry keyed by type name, each with lifecycle hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyvend.db.models import Order
from keyvend.db.unit_of_work import UnitOfWork
from keyvend.domain.errors import InvalidInput
from keyvend.schemas.order import ServicePublic
from keyvend.services import extension


class ProductType:
    """Base of every product type; hooks default to doing nothing."""

    name = ""
    extension: str | None = None

    def require_available(self, uow: UnitOfWork) -> None:
        """Raise ModuleInactive when the type's extension is not active."""
        if self.extension is not None:
            extension.require_active(uow, self.extension)

    def default_config(self) -> dict[str, Any]:
        return {}

    def parse_config(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate a product or order config; return its stored form."""
        return dict(raw or {})

    def create(self, uow: UnitOfWork, order: Order) -> None: ...
    def activate(self, uow: UnitOfWork, order: Order) -> None: ...
    def renew(self, uow: UnitOfWork, order: Order) -> None: ...
    def suspend(self, uow: UnitOfWork, order: Order) -> None: ...
    def unsuspend(self, uow: UnitOfWork, order: Order) -> None: ...
    def cancel(self, uow: UnitOfWork, order: Order) -> None: ...
    def uncancel(self, uow: UnitOfWork, order: Order) -> None: ...
    def delete(self, uow: UnitOfWork, order: Order) -> None: ...

    def to_api(self, uow: UnitOfWork, order: Order) -> ServicePublic:
        """The service behind an order, as `order/service` shows it."""
        return ServicePublic(id=order.id, config=order.config)


_REGISTRY: dict[str, ProductType] = {}


def register(product_type: ProductType) -> ProductType:
    """Add a product type to the registry under its name."""
    _REGISTRY[product_type.name] = product_type
    return product_type


def get_type(name: str) -> ProductType:
    """The registered type called `name`, or InvalidInput listing the known ones."""
    found = _REGISTRY.get(name)
    if found is None:
        raise InvalidInput(f"type must be one of {', '.join(sorted(_REGISTRY))}", field="type")
    return found
