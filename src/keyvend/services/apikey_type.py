"""The `apikey` product type: one generated key per order, in the product's format."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from keyvend.db.models import ApiKeyService, Order
from keyvend.db.unit_of_work import UnitOfWork
from keyvend.domain.errors import Conflict, NotFound
from keyvend.domain.keygen import KeyFormat, generate_key, parse_config
from keyvend.domain.order_states import OrderStatus
from keyvend.domain.vault import UndecryptableKey
from keyvend.schemas.order import ApiKeyServicePublic
from keyvend.services import extension
from keyvend.services.product_types import ProductType, register

MAX_ATTEMPTS = 10
# Orders that held a key once activated (pending orders get theirs when activated).
LIVE_WITH_KEY = (OrderStatus.ACTIVE, OrderStatus.SUSPENDED, OrderStatus.FAILED_RENEW)


class ApiKeyType(ProductType):
    name = "apikey"
    extension = extension.APIKEY

    def default_config(self) -> dict[str, Any]:
        return KeyFormat().to_config()

    def parse_config(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        return parse_config(raw).to_config()

    def activate(self, uow: UnitOfWork, order: Order) -> None:
        """Issue the order's key, unless an earlier activation already did."""
        self.require_available(uow)
        if service_of(uow, order.id) is not None:
            return
        now = uow.now()
        service = ApiKeyService(
            order_id=order.id,
            client_id=order.client_id,
            enabled=True,
            config=dict(order.config),
            created_at=now,
            updated_at=now,
        )
        assign_new_key(uow, service)
        uow.session.add(service)

    def to_api(self, uow: UnitOfWork, order: Order) -> ApiKeyServicePublic:
        self.require_available(uow)
        service = service_of(uow, order.id)
        if service is None:
            raise NotFound("This order has no API key yet; activate it first")
        try:
            api_key = uow.vault.decrypt_key(service.key_ciphertext)
        except UndecryptableKey:  # made under another secret, or the row was tampered with
            raise Conflict(
                "This key cannot be read with the current secret key; reset it to issue a "
                "new one, or start the server with the secret key it was made with"
            ) from None
        return ApiKeyServicePublic(
            id=service.id,
            order_id=order.id,
            api_key=api_key,
            valid=service.enabled,
            config=service.config,
            created_at=service.created_at,
            updated_at=service.updated_at,
            previous_key_until=_overlap_end(uow, service),
        )


def _overlap_end(uow: UnitOfWork, service: ApiKeyService) -> datetime | None:
    """When the key a reset replaced stops working, while it still works."""
    until = service.previous_until
    return until if until is not None and until > uow.now() else None


def service_of(uow: UnitOfWork, order_id: int) -> ApiKeyService | None:
    """The key service of an order, if it has one."""
    return uow.session.scalar(select(ApiKeyService).where(ApiKeyService.order_id == order_id))


def assign_new_key(uow: UnitOfWork, service: ApiKeyService) -> str:
    """Generate a key in the service's format that no other service holds; store it."""
    fmt = parse_config(service.config)
    for _ in range(MAX_ATTEMPTS):
        key = generate_key(fmt)
        digest = uow.vault.key_digest(key)
        taken = uow.session.scalar(
            select(ApiKeyService.id).where(
                or_(ApiKeyService.key_digest == digest, ApiKeyService.previous_digest == digest)
            )
        )
        if taken is None:
            service.key_digest = digest
            service.key_ciphertext = uow.vault.encrypt_key(key)
            service.updated_at = uow.now()
            return key
    raise Conflict("Could not generate a unique API key; try a longer key length")


def restore_missing_keys(uow: UnitOfWork, extension_name: str) -> None:
    """After a reinstall, every live API-key order whose key was dropped gets a new one."""
    if extension_name != ApiKeyType.extension:
        return
    keyless = uow.session.scalars(
        select(Order)
        .outerjoin(ApiKeyService, ApiKeyService.order_id == Order.id)
        .where(
            Order.type == ApiKeyType.name,
            Order.status.in_(LIVE_WITH_KEY),
            ApiKeyService.id.is_(None),
        )
    ).all()
    for order in keyless:
        APIKEY_TYPE.activate(uow, order)
        uow.flush()  # the next key's uniqueness check must see this one


APIKEY_TYPE = register(ApiKeyType())
extension.ON_ACTIVATE.append(restore_missing_keys)
