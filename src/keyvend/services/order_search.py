"""Finding orders for support: by a client's email (or part of it) or by a pasted API key.

A pasted key is found the way the check finds it, through its HMAC digest (letter case
ignored, dashes significant), the key a reset replaced counting while its overlap lasts. No
key is ever decrypted to search, and the key is never logged. `order.get_list` applies
`matching` for both the admin API (`admin/order/get_list {search}`) and the admin orders page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select

from keyvend.db.models import ApiKeyService, Client, Extension, Order
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.schemas.account import ClientPublic
from keyvend.schemas.order import OrderPublic
from keyvend.services import extension
from keyvend.services.serviceapikey import MAX_KEY_TEXT

# An optional prefix, then at least 16 hex characters and dashes: what every key looks like,
# and what no email or part of one with its @ or a dot does.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_]{0,16}[0-9A-Fa-f-]{16,}")


def looks_like_key(text: str) -> bool:
    """Whether a search text has the shape of an API key rather than of an email."""
    text = text.strip()
    return len(text) <= MAX_KEY_TEXT and _KEY_SHAPE.fullmatch(text) is not None


def clients_of(db: Database, orders: Sequence[OrderPublic]) -> dict[int, ClientPublic]:
    """The clients who placed `orders`, by id, read in one query (for the orders list)."""
    ids = {o.client_id for o in orders}
    if not ids:
        return {}
    with db.unit_of_work(read_only=True) as uow:
        found = uow.session.scalars(select(Client).where(Client.id.in_(ids))).all()
        return {c.id: ClientPublic.model_validate(c) for c in found}


def matching(uow: UnitOfWork, text: str) -> ColumnElement[bool]:
    """The orders a support search finds: text shaped like a key (`looks_like_key`) the
    order of that key, if any; other text the orders of clients whose email contains it
    (any letter case)."""
    if looks_like_key(text):
        return Order.id.in_(_orders_with_key(uow, text))
    return Order.client_id.in_(select(Client.id).where(_email_contains(text)))


def _email_contains(text: str) -> ColumnElement[bool]:
    """Client emails containing `text` literally (`%` and `_` are no wildcards here)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(Client.email).like(f"%{escaped}%", escape="\\")


def _orders_with_key(uow: UnitOfWork, key: str) -> list[int]:
    """The order whose key is `key` (its current key, or the one a reset replaced while it
    still works), by the key's digest; none while the key table is uninstalled."""
    if not _key_table_present(uow):
        return []
    digest = uow.vault.key_digest(key)
    query = select(ApiKeyService.order_id).where(
        or_(ApiKeyService.key_digest == digest, _previous_key(digest, uow.now()))
    )
    return list(uow.session.scalars(query).all())


def _previous_key(digest: bytes, now: datetime) -> ColumnElement[bool]:
    return and_(ApiKeyService.previous_digest == digest, ApiKeyService.previous_until > now)


def _key_table_present(uow: UnitOfWork) -> bool:
    status = uow.session.scalar(select(Extension.status).where(Extension.name == extension.APIKEY))
    return status is not None and status != extension.NOT_INSTALLED
