"""Applications: the programs that check keys, each with its own token and budget.

A guest key check that carries `Authorization: Bearer <application token>` is counted against
the application (KEYVEND_RATE_LIMIT_APPLICATION) instead of the caller IP's guest budgets, so
that nobody can lock an application's customers out by sending it bad keys. Tokens are stored
as HMAC digests (like API tokens). Identifying one is on the hot path, so each process keeps
the answer for a few seconds: a reset or deleted token stops working at once in the process
that changed it, and within `TOKEN_CACHE_SECONDS` in every other.
"""

from __future__ import annotations

import secrets
import threading
import time

from sqlalchemy import select

from keyvend.db.models import Application
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import NotFound, Unauthenticated
from keyvend.domain.fields import text
from keyvend.domain.vault import same
from keyvend.schemas.application import ApplicationPublic, ApplicationToken

TOKEN_PREFIX = "kva_"  # noqa: S105 (a prefix, not a secret)
TOKEN_CACHE_SECONDS = 5.0
MAX_CACHED = 10_000
BAD_TOKEN = "Authentication Failed: unknown application token"  # noqa: S105
NO_SUCH_APPLICATION = "Application not found"


def create(db: Database, *, name: str) -> ApplicationToken:
    """A new application; its token is in the answer, once, and stored only as a digest."""
    name = text(name, name="name", max_length=100, required=True)
    token = _new_token()
    with db.unit_of_work() as uow:
        now = uow.now()
        application = Application(
            name=name,
            token_digest=db.vault.token_digest(token),
            token_hint=token[:12],
            created_at=now,
            updated_at=now,
        )
        uow.session.add(application)
        uow.flush()
        uow.record("application.created", data={"application_id": application.id, "name": name})
        uow.commit()
        return ApplicationToken(id=application.id, token=token)


def get_list(db: Database) -> list[ApplicationPublic]:
    """Every application, oldest first (never their tokens)."""
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.scalars(select(Application).order_by(Application.id)).all()
        return [ApplicationPublic.model_validate(row) for row in rows]


def update(db: Database, *, application_id: int, name: str) -> bool:
    """Rename an application."""
    name = text(name, name="name", max_length=100, required=True)
    with db.unit_of_work() as uow:
        application = _application(uow, application_id)
        application.name = name
        application.updated_at = uow.now()
        uow.record("application.updated", data={"application_id": application_id, "name": name})
        uow.commit()
    return True


def reset_token(db: Database, *, application_id: int) -> ApplicationToken:
    """A new token for the application; the old one stops working."""
    token = _new_token()
    with db.unit_of_work() as uow:
        application = _application(uow, application_id)
        old_digest = application.token_digest
        application.token_digest = db.vault.token_digest(token)
        application.token_hint = token[:12]
        application.updated_at = uow.now()
        uow.record("application.token_reset", data={"application_id": application_id})
        uow.commit()
    TOKENS.forget(old_digest)
    return ApplicationToken(id=application_id, token=token)


def delete(db: Database, *, application_id: int) -> bool:
    """Delete the application; its token stops working."""
    with db.unit_of_work() as uow:
        application = _application(uow, application_id)
        digest = application.token_digest
        uow.session.delete(application)
        uow.record("application.deleted", data={"application_id": application_id})
        uow.commit()
    TOKENS.forget(digest)
    return True


def identify(db: Database, token: str) -> int:
    """The id of the application holding `token`; Unauthenticated (401, code 201) if none."""
    digest = db.vault.token_digest(token)
    known = TOKENS.get(digest)
    if known is not None:
        return known
    with db.unit_of_work(read_only=True) as uow:
        row = uow.session.execute(
            select(Application.id, Application.token_digest).where(
                Application.token_digest == digest
            )
        ).first()
    if row is None or not same(row.token_digest, digest):
        raise Unauthenticated(BAD_TOKEN)
    TOKENS.put(digest, row.id)
    return int(row.id)


class TokenCache:
    """Token digest -> application id, each answer kept `TOKEN_CACHE_SECONDS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, float]] = {}

    def get(self, digest: str) -> int | None:
        entry = self._entries.get(digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: str, application_id: int) -> None:
        with self._lock:
            if len(self._entries) >= MAX_CACHED:
                self._entries.clear()
            self._entries[digest] = (application_id, time.monotonic() + TOKEN_CACHE_SECONDS)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


TOKENS = TokenCache()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _application(uow: UnitOfWork, application_id: int) -> Application:
    application = uow.session.get(Application, application_id, with_for_update=True)
    if application is None:
        raise NotFound(NO_SUCH_APPLICATION)
    return application
