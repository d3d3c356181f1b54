"""Which keys an event touches: the fingerprints a key-changing event carries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from keyvend.db.models import ApiKeyService, Event
from keyvend.domain.event_types import (
    ALL_KEYS,
    CLIENT_KEY_CHANGES,
    EVERY_KEY_CHANGES,
    ORDER_KEY_CHANGES,
    fingerprint,
)
from keyvend.domain.vault import KeyVault, UndecryptableKey


def fingerprints_of(session: Session, vault: KeyVault, event: Event) -> list[str] | None:
    """The fingerprints of the keys (current and, in an overlap, previous) that `event`
    can change the answer of; None for events that change no key's answer."""
    if event.type in EVERY_KEY_CHANGES:
        return [ALL_KEYS]
    if event.type in ORDER_KEY_CHANGES and event.order_id is not None:
        where = ApiKeyService.order_id == event.order_id
    elif event.type in CLIENT_KEY_CHANGES and event.client_id is not None:
        where = ApiKeyService.client_id == event.client_id
    else:
        return None
    query = select(ApiKeyService.key_ciphertext, ApiKeyService.previous_ciphertext).where(where)
    found: list[str] = []
    try:
        # In a savepoint: on PostgreSQL a failed statement would end the whole transaction.
        with session.begin_nested():
            rows = session.execute(query).all()
    except DBAPIError:  # the extension's table is uninstalled: no keys to name
        return found
    for current, previous in rows:
        for blob in (current, previous):
            if blob is not None:
                found.extend(_fingerprint(vault, blob))
    return found


def _fingerprint(vault: KeyVault, blob: bytes) -> list[str]:
    try:
        return [fingerprint(vault.decrypt_key(blob))]
    except UndecryptableKey:  # a key made under another secret checks as missing anyway
        return []
