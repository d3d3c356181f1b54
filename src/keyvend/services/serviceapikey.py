"""The `serviceapikey` module: check, get_info, update and reset API keys."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from keyvend.db.key_index import KeyRow
from keyvend.db.models import ApiKeyService
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import InvalidInput, ModuleInactive, NotFound
from keyvend.domain.event_types import fingerprint
from keyvend.domain.keygen import MAX_LENGTH, custom_params, parse_config
from keyvend.domain.vault import same
from keyvend.domain.verification import VerifyCode, state_code
from keyvend.services import extension
from keyvend.services.apikey_type import assign_new_key

NO_KEY = "You must provide an API key to check it's validity."
NO_SUCH_KEY = "API key does not exist"
NO_TARGET = "You must provide either the API key or API key order ID in order to reset it."
NO_CHANGE = "To change the API key, please use the reset function rather than updating it."
# Longest possible key: prefix (16) + hex (256) + dashes (255); anything longer cannot exist.
MAX_KEY_TEXT = 16 + MAX_LENGTH * 2
MAX_OVERLAP = 7 * 24 * 3600  # seconds an old key may keep working after a reset
security_log = logging.getLogger("keyvend.security")


def check(db: Database, key: str) -> bool:
    """Whether the key is valid: order active, not expired, key enabled."""
    now = db.clock()
    return state(db, lookup(db, key, now), now) is VerifyCode.VALID


def get_info(db: Database, key: str) -> dict[str, Any]:
    """Validity plus the custom parameters of the key's product."""
    now = db.clock()
    row = lookup(db, key, now)
    valid = state(db, row, now) is VerifyCode.VALID
    return {"valid": valid, "config": custom_params(row.config)}


def state(db: Database, row: KeyRow, now: datetime, *, count: bool = True) -> VerifyCode:
    """The found key's state code, counted in the usage tally unless `count` is False."""
    code = state_code(
        enabled=row.enabled, status=row.order_status or "", expires_at=row.expires_at, now=now
    )
    if count:
        db.usage.count(row.order_id, code, now)
    return code


def lookup(db: Database, key: str, now: datetime) -> KeyRow:
    """One statement, one indexed probe by HMAC digest; NotFound for keys that do not exist,
    including a key replaced by a reset whose overlap has ended."""
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput(NO_KEY, field="key")
    if len(key) > MAX_KEY_TEXT:
        raise NotFound(NO_SUCH_KEY)
    digest = db.vault.key_digest(key)
    row = db.key_cache.get(digest)
    if row is None:
        row = _find(db, key, digest)
    if row.module_status != extension.ACTIVE:
        raise ModuleInactive(extension.APIKEY)
    if row.digest is None:
        raise NotFound(NO_SUCH_KEY)
    if same(row.digest, digest) or _overlapping(row, digest, now):
        return row
    raise NotFound(NO_SUCH_KEY)


def _find(db: Database, key: str, digest: bytes) -> KeyRow:
    """The database's row for `digest`, kept in this process's key cache when it is a key."""
    generation = db.key_cache.generation
    try:
        row = db.keys.find(digest, extension.APIKEY)
    except DBAPIError:
        # After an uninstall the table is gone; any other failure is a real one.
        with db.unit_of_work(read_only=True) as uow:
            extension.require_active(uow, extension.APIKEY)
        raise
    if row is None:
        raise ModuleInactive(extension.APIKEY)
    if row.digest is not None and row.module_status == extension.ACTIVE:
        db.key_cache.put(digest, fingerprint(key), row, generation)
    return row


def _overlapping(row: KeyRow, digest: bytes, now: datetime) -> bool:
    """The key a reset replaced, still inside its overlap."""
    return (
        row.previous_digest is not None
        and row.previous_until is not None
        and now < row.previous_until
        and same(row.previous_digest, digest)
    )


def update(
    db: Database,
    *,
    order_id: int,
    config: dict[str, Any] | None = None,
    valid: bool | None = None,
    api_key: str | None = None,
) -> bool:
    """Replace the key's config wholesale and/or enable or disable it; never change the key."""
    new_config = parse_config(config).to_config() if config is not None else None
    with db.unit_of_work() as uow:
        service = _service(uow, order_id=order_id, key=None, client_id=None)
        if api_key and not same(uow.vault.key_digest(api_key), service.key_digest):
            raise InvalidInput(NO_CHANGE, field="api_key")
        was_enabled = service.enabled
        if new_config is not None:
            service.config = new_config
        if valid is not None:
            service.enabled = valid
        service.updated_at = uow.now()
        _record_update(uow, service, config_changed=new_config is not None, was=was_enabled)
        uow.commit()
    return True


def _record_update(
    uow: UnitOfWork, service: ApiKeyService, *, config_changed: bool, was: bool
) -> None:
    client_id, order_id = service.client_id, service.order_id
    if config_changed:
        uow.record(
            "key.updated", client_id=client_id, order_id=order_id, data={"fields": ["config"]}
        )
    if service.enabled != was:
        kind = "key.enabled" if service.enabled else "key.disabled"
        uow.record(kind, client_id=client_id, order_id=order_id)


def reset(
    db: Database,
    *,
    order_id: int | None = None,
    key: str | None = None,
    client_id: int | None = None,
    overlap: int = 0,
) -> bool:
    """Issue a new key in the service's current format. The old key dies at once, or keeps
    working `overlap` seconds beside the new one (a key replaced earlier dies now)."""
    if order_id is None and not key:
        raise InvalidInput(NO_TARGET)
    if not 0 <= overlap <= MAX_OVERLAP:
        raise InvalidInput(
            f"overlap must be a whole number of seconds from 0 to {MAX_OVERLAP} (7 days)",
            field="overlap",
        )
    with db.unit_of_work() as uow:
        service = _service(uow, order_id=order_id, key=key, client_id=client_id)
        # Recorded first: the event names the keys that stop (or will stop) working.
        uow.record(
            "key.reset",
            client_id=service.client_id,
            order_id=service.order_id,
            data={"overlap": overlap},
        )
        _keep_previous(uow, service, overlap)
        assign_new_key(uow, service)
        uow.commit()
    # A security event, never with the key; the caller (actor) comes from the log context.
    security_log.info(
        "api key reset",
        extra={"security_event": "key_reset", "order_id": service.order_id, "client_id": client_id},
    )
    return True


def _keep_previous(uow: UnitOfWork, service: ApiKeyService, overlap: int) -> None:
    """Remember the current key for `overlap` seconds (0: forget any previous one)."""
    if overlap:
        service.previous_digest = service.key_digest
        service.previous_ciphertext = service.key_ciphertext
        service.previous_until = uow.now() + timedelta(seconds=overlap)
    else:
        service.previous_digest = service.previous_ciphertext = service.previous_until = None


def _service(
    uow: UnitOfWork, *, order_id: int | None, key: str | None, client_id: int | None
) -> ApiKeyService:
    """The service named by order id and/or key; a client only ever finds their own."""
    extension.require_active(uow, extension.APIKEY)
    query = select(ApiKeyService).with_for_update()
    if order_id is not None:
        query = query.where(ApiKeyService.order_id == order_id)
    if key:
        if len(key) > MAX_KEY_TEXT:
            raise NotFound(NO_SUCH_KEY)
        query = query.where(ApiKeyService.key_digest == uow.vault.key_digest(key))
    if client_id is not None:
        query = query.where(ApiKeyService.client_id == client_id)
    service = uow.session.scalar(query)
    if service is None:
        raise NotFound(NO_SUCH_KEY)
    return service
