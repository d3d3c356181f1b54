"""The master secret and the database it belongs to: the check at start, and rotation.

**Check.** The `secret_check` row holds an HMAC of a fixed label under a subkey of the master
secret (`KeyVault.check_value`): it tells whether a secret is the database's without revealing
anything of it. Every `keyvend` command that opens the database refuses a secret that does not
match a database with data, and never lets `load_secret` generate a new `secret.key` beside
one. A database from before the check records the current secret's value on its first start,
once one of its keys decrypts with that secret.

**Rotation.** Key digests and ciphertexts are recomputed under the new secret's subkeys (every
key decrypts). API tokens and session tokens cannot be: the database keeps only
`HMAC(token_key, token)`, and nobody holds the tokens. So the token key is a data-encryption
key that survives rotations: on the first rotation the key derived from the old secret is
kept, wrapped (AES-GCM) under a subkey of the new secret, in `secret_check.wrapped_token_key`;
later rotations re-wrap it. Every token and session keeps working and no digest changes.
The outbox's mails and the webhooks' signing secrets are re-encrypted too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, literal, select, text, update
from sqlalchemy.engine import make_url

from keyvend.config import Settings, secret_path, secret_source, write_draft
from keyvend.db.engine import make_engine
from keyvend.db.models import ApiKeyService, Email, SecretCheck, Webhook, metadata
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict
from keyvend.domain.vault import KeyVault, UndecryptableKey, same

ROW_ID = 1
BATCH = 500
# Tables that every database has rows in, data or not.
# Tables whose rows hold nothing encrypted under the secret (the events of a fresh install,
# the expiry watermark) do not make a database one "with data".
BOOKKEEPING = {"alembic_version", "extensions", "events", "counters", SecretCheck.__tablename__}


class SecretMismatch(RuntimeError):
    """The master secret does not belong to the database: a configuration error (exit 2)."""


@dataclass(frozen=True)
class Rotated:
    """What a rotation did: keys moved, and where the new secret now lives (if in a file)."""

    keys: int
    secret_file: Path | None


def has_data(engine: Engine) -> bool:
    """Whether any table but the bookkeeping ones holds a row."""
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        tables = [t for t in metadata.sorted_tables if t.name in present - BOOKKEEPING]
        return any(
            connection.execute(select(literal(1)).select_from(table).limit(1)).first()
            for table in tables
        )


def refuse_a_new_secret_for_data(settings: Settings) -> None:
    """Before `load_secret` may generate `secret.key`: never beside a database with data."""
    if settings.secret_key is not None or secret_path(settings).exists():
        return
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return  # no database yet
    engine = make_engine(settings.effective_database_url, pooled=False)
    try:
        full = has_data(engine)
    finally:
        engine.dispose()
    if full:
        raise SecretMismatch(
            f"{secret_source(settings)} is missing but the database holds data; restore it "
            "from a backup (a new secret would leave every key and token unreadable)"
        )


def check(db: Database, settings: Settings) -> None:
    """Before migrating: refuse a secret that is not the database's; adopt its token key."""
    if not inspect(db.engine).has_table(SecretCheck.__tablename__):
        return  # a database from before the check, or a new one: `record` follows
    with db.unit_of_work(read_only=True) as uow:
        row = uow.session.get(SecretCheck, ROW_ID)
    if row is None:
        return
    if not same(row.check_value, db.vault.check_value):
        if has_data(db.engine):
            raise SecretMismatch(_mismatch(settings))
        return  # nothing was made with the old secret: `record` replaces its check value
    if row.wrapped_token_key is not None:
        try:
            db.vault = db.vault.with_wrapped_token_key(row.wrapped_token_key)
        except ValueError:  # the check matched, so the row was tampered with
            raise SecretMismatch(
                f"The token key stored in {SecretCheck.__tablename__} does not decrypt with "
                f"{secret_source(settings)}; restore the database from a backup"
            ) from None


def record(db: Database, settings: Settings) -> None:
    """After migrating: store the check value where there is none, or none that matters."""
    with db.unit_of_work() as uow:
        row = uow.session.get(SecretCheck, ROW_ID)
        if row is not None and same(row.check_value, db.vault.check_value):
            return
        _readable_keys_or_refuse(uow, db.vault, settings)
        if row is None:
            row = SecretCheck(id=ROW_ID)
            uow.session.add(row)
        row.check_value = db.vault.check_value
        row.wrapped_token_key = None
        row.updated_at = uow.now()
        try:
            uow.commit()
        except Conflict:  # another process recorded it first: its value must match ours
            check(db, settings)


def _readable_keys_or_refuse(uow: UnitOfWork, vault: KeyVault, settings: Settings) -> None:
    # A database from before the check tells its secret by its keys: one must decrypt.
    if not inspect(uow.session.connection()).has_table(ApiKeyService.__tablename__):
        return
    blob = uow.session.scalar(select(ApiKeyService.key_ciphertext).limit(1))
    if blob is None:
        return
    try:
        vault.decrypt_key(blob)
    except UndecryptableKey:
        raise SecretMismatch(_mismatch(settings)) from None


def _mismatch(settings: Settings) -> str:
    message = (
        f"{secret_source(settings)} does not match the database (its secret check differs); "
        "start with the secret the data was made with"
    )
    if settings.secret_key is None and _staged(settings).exists():
        message += f" (an interrupted `keyvend secret rotate` left {_staged(settings)})"
    return message


def rotate(db: Database, settings: Settings, new_secret: str) -> Rotated:
    """Move every key, the token key and the check value to `new_secret` in one transaction.

    Where the secret lives in `secret.key`, the new one is written beside it before the
    commit and moved into place after it, the old one kept as `secret.key.old`.
    """
    new = db.vault.successor(new_secret.encode())
    if same(new.check_value, db.vault.check_value):
        raise SecretMismatch("The new secret is the current one; nothing was changed")
    staged = _stage(settings, new_secret)
    try:
        keys = _rotate_rows(db, settings, new)
    except (SecretMismatch, Conflict):  # refused or rolled back: the old secret stays
        if staged is not None:
            staged.unlink()
        raise
    # Any other failure may have struck after the commit: the staged secret stays, and a
    # start with the old one names it.
    db.vault = new
    return Rotated(keys=keys, secret_file=_install(settings) if staged else None)


def _rotate_rows(db: Database, settings: Settings, new: KeyVault) -> int:
    with db.unit_of_work() as uow:
        row = uow.session.get(SecretCheck, ROW_ID, with_for_update=True)
        if row is None or not same(row.check_value, db.vault.check_value):
            raise SecretMismatch(_mismatch(settings))  # changed since the start-up check
        keys = _move_keys(uow, db.vault, new)
        _move_emails(uow, db.vault, new)
        _move_webhook_secrets(uow, db.vault, new)
        row.check_value = new.check_value
        row.wrapped_token_key = new.wrapped_token_key()
        row.updated_at = uow.now()
        uow.commit()
    return keys


def _move_keys(uow: UnitOfWork, old: KeyVault, new: KeyVault) -> int:
    """Re-digest and re-encrypt every key, a batch at a time (by id, so memory stays flat)."""
    connection = uow.session.connection()
    if not inspect(connection).has_table(ApiKeyService.__tablename__):
        return 0  # the extension is uninstalled: no keys
    if connection.dialect.name == "postgresql":  # no key may be issued under the old secret
        uow.session.execute(text("LOCK TABLE service_apikey IN EXCLUSIVE MODE"))
    moved, after = 0, 0
    while rows := uow.session.execute(
        select(ApiKeyService.id, ApiKeyService.key_ciphertext, ApiKeyService.previous_ciphertext)
        .where(ApiKeyService.id > after)
        .order_by(ApiKeyService.id)
        .limit(BATCH)
    ).all():
        uow.session.execute(
            update(ApiKeyService),
            [_moved(r.id, r.key_ciphertext, r.previous_ciphertext, old, new) for r in rows],
        )
        moved, after = moved + len(rows), rows[-1].id
    return moved


def _move_emails(uow: UnitOfWork, old: KeyVault, new: KeyVault) -> None:
    """Re-encrypt the outbox (subjects and bodies may hold reset links), a batch at a time.
    A mail that no longer decrypts under the current secret is left as it is."""
    after = 0
    while rows := uow.session.execute(
        select(Email.id, Email.subject, Email.body_text, Email.body_html)
        .where(Email.id > after)
        .order_by(Email.id)
        .limit(BATCH)
    ).all():
        moved = []
        for row in rows:
            try:
                texts = [
                    old.decrypt_key(blob) for blob in (row.subject, row.body_text, row.body_html)
                ]
            except UndecryptableKey:
                continue
            subject, body_text, body_html = (new.encrypt_key(t) for t in texts)
            moved.append(
                {"id": row.id, "subject": subject, "body_text": body_text, "body_html": body_html}
            )
        if moved:
            uow.session.execute(update(Email), moved)
        after = rows[-1].id


def _move_webhook_secrets(uow: UnitOfWork, old: KeyVault, new: KeyVault) -> None:
    """Re-encrypt the webhooks' signing secrets (few: all at once). One that no longer
    decrypts under the current secret is left as it is."""
    moved = []
    for row in uow.session.execute(select(Webhook.id, Webhook.secret_ciphertext)).all():
        try:
            signing_secret = old.decrypt_key(row.secret_ciphertext)
        except UndecryptableKey:
            continue
        moved.append({"id": row.id, "secret_ciphertext": new.encrypt_key(signing_secret)})
    if moved:
        uow.session.execute(update(Webhook), moved)


def _moved(
    service_id: int, blob: bytes, previous: bytes | None, old: KeyVault, new: KeyVault
) -> dict[str, object]:
    """A key's row under the new secret, with the key a reset with overlap replaced."""
    try:
        key = old.decrypt_key(blob)
        previous_key = old.decrypt_key(previous) if previous is not None else None
    except UndecryptableKey:
        raise SecretMismatch(
            f"API key #{service_id} cannot be read with the current secret key; nothing was changed"
        ) from None
    return {
        "id": service_id,
        "key_digest": new.key_digest(key),
        "key_ciphertext": new.encrypt_key(key),
        "previous_digest": new.key_digest(previous_key) if previous_key is not None else None,
        "previous_ciphertext": new.encrypt_key(previous_key) if previous_key is not None else None,
    }


def _staged(settings: Settings) -> Path:
    return secret_path(settings).with_name(secret_path(settings).name + ".new")


def _stage(settings: Settings, new_secret: str) -> Path | None:
    """`secret.key.new`, written and synced before the commit (None: the secret is in env)."""
    if settings.secret_key is not None:
        return None
    draft = write_draft(secret_path(settings), new_secret)
    os.replace(draft, _staged(settings))
    return _staged(settings)


def _install(settings: Settings) -> Path:
    """The staged secret moved into place; the old one kept as `secret.key.old`."""
    path = secret_path(settings)
    old = write_draft(path, path.read_text())
    os.replace(old, path.with_name(path.name + ".old"))
    os.replace(_staged(settings), path)  # `secret.key` is never missing, old or new
    return path
