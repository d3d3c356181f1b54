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
