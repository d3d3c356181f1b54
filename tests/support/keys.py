"""An order's API key, read at the level a test works at: the API, the services or the row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyvend.db.unit_of_work import Database
from keyvend.services import apikey_type, order

if TYPE_CHECKING:
    from tests.conftest import Api


def key_via_api(api: Api, order_id: int) -> str:
    """The key as an admin reads it over the API (`admin/order/service`)."""
    return str(api.admin("order/service", id=order_id)["api_key"])


def key_via_service(db: Database, order_id: int) -> str:
    """The key as the order service returns it."""
    return str(order.service(db, order_id).api_key)


def key_in_db(db: Database, order_id: int) -> str:
    """The key stored in the order's service row, decrypted; the row must exist."""
    with db.unit_of_work(read_only=True) as uow:
        service = apikey_type.service_of(uow, order_id)
        assert service is not None
        return db.vault.decrypt_key(service.key_ciphertext)


def issue_key(db: Database) -> str:
    """On a migrated database: install the extension if needed and sell one
    active key (an enabled free product, a client, an activated order); return the key."""
    from keyvend.schemas.account import ClientCreate
    from keyvend.schemas.order import OrderCreate
    from keyvend.schemas.product import ProductCreate, ProductUpdate
    from keyvend.services import client, extension, product

    extension.ensure_installed(db)
    pid = product.prepare(db, ProductCreate(title="Starter"))
    product.update(db, pid, ProductUpdate(status="enabled"))
    cid = client.create(db, ClientCreate(email="jo@example.com", first_name="Jo")).id
    oid = order.create(db, OrderCreate(client_id=cid, product_id=pid, activate=True))
    return key_via_service(db, oid)
