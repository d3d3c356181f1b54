"""Who is calling: API tokens (HTTP Basic), login sessions and their CSRF tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, select

from keyvend.db.models import Admin, Client
from keyvend.db.models import Session as SessionRow
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import (
    AccountDisabled,
    InvalidInput,
    LoginFailed,
    SessionExpired,
    Unauthenticated,
)
from keyvend.domain.passwords import verify_password
from keyvend.domain.vault import new_token, same

Role = Literal["admin", "client"]


@dataclass(frozen=True)
class Actor:
    """An authenticated caller."""

    role: Role
    id: int


@dataclass(frozen=True)
class LoginSession:
    """What a login hands back to the browser: cookie token, CSRF token, the actor."""

    actor: Actor
    token: str
    csrf: str


def actor_from_token(db: Database, role: str, token: str) -> Actor:
    """The account whose API token this is, for Basic auth `role:token`."""
    if role not in ("admin", "client") or not token or len(token) > 256:
        raise Unauthenticated("Authentication Failed")
    digest = db.vault.token_digest(token)
    with db.unit_of_work(read_only=True) as uow:
        row = _account(uow, role, "api_token_digest", digest)
    if row is None or not same(row.api_token_digest, digest):
        raise Unauthenticated("Authentication Failed")
    if isinstance(row, Client) and row.status != "active":
        raise AccountDisabled("Your account is not active")
    return Actor("admin" if role == "admin" else "client", row.id)


def login(db: Database, role: Role, *, email: str, password: str, ttl_hours: int) -> LoginSession:
    """Check email and password and open a session; one error text for every failure."""
    with db.unit_of_work() as uow:
        row = _account(uow, role, "email", email.strip().lower())
        if not verify_password(row.password_hash if row else None, password) or row is None:
            _record_failure(uow, role, email, row)
            raise LoginFailed("Please check your login details")
        if isinstance(row, Client) and row.status != "active":
            raise AccountDisabled("Your account is not active")
        token, csrf = new_token(), new_token()
        uow.session.add(
            SessionRow(
                token_digest=db.vault.token_digest(token),
                role=role,
                account_id=row.id,
                csrf_token=csrf,
                expires_at=uow.now() + timedelta(hours=ttl_hours),
            )
        )
        uow.session.execute(delete(SessionRow).where(SessionRow.expires_at < uow.now()))
        uow.commit()
        return LoginSession(Actor(role, row.id), token, csrf)


def _record_failure(uow: UnitOfWork, role: Role, email: str, row: Admin | Client | None) -> None:
    """A failed login is an event of its own (the activity log, webhooks); never the password.
    Committed in the login's own unit: a second one would wait for its write lock on SQLite."""
    kind = "staff" if role == "admin" else "client"
    shown = email.strip().lower()[:254]
    uow.record(
        f"{kind}.login_failed",
        client_id=row.id if isinstance(row, Client) else None,
        data={"email": shown if shown.isprintable() else repr(shown)},
    )
    uow.commit()


def _account(uow: UnitOfWork, role: str, column: str, value: str) -> Admin | Client | None:
    """The admin or client whose `column` equals `value`."""
    if role == "admin":
        return uow.session.scalar(select(Admin).where(getattr(Admin, column) == value))
    return uow.session.scalar(select(Client).where(getattr(Client, column) == value))


def live_session(db: Database, token: str) -> tuple[Actor, str]:
    """The actor and CSRF token of a live session; Unauthenticated otherwise."""
    with db.unit_of_work(read_only=True) as uow:
        row = uow.session.scalar(
            select(SessionRow).where(SessionRow.token_digest == db.vault.token_digest(token))
        )
        if row is None or row.expires_at <= uow.now():
            raise SessionExpired("Your session has expired; please log in again")
        account = uow.session.get(Admin if row.role == "admin" else Client, row.account_id)
    if account is None:
        raise SessionExpired("Your session has expired; please log in again")
    if isinstance(account, Client) and account.status != "active":
        # Basic auth refuses a suspended client (206); a browser session must not outlive that.
        raise AccountDisabled("Your account is not active")
    return Actor(row.role, row.account_id), row.csrf_token  # type: ignore[arg-type]


def end_sessions(uow: UnitOfWork, role: Role, account_id: int, *, keep: str | None = None) -> None:
    """Delete every session of an account (ids can be reused once the account is gone),
    except the one whose token digest is `keep` (the caller's own, after a password change)."""
    query = delete(SessionRow).where(SessionRow.role == role, SessionRow.account_id == account_id)
    if keep is not None:
        query = query.where(SessionRow.token_digest != keep)
    uow.session.execute(query)


def check_password(row: Admin | Client, password: str, *, field: str) -> None:
    """Refuse a self-service change unless `password` is the account's current one."""
    if not verify_password(row.password_hash, password):
        raise InvalidInput("Your current password is not correct", field=field)


def logout(db: Database, token: str) -> bool:
    """End a session."""
    with db.unit_of_work() as uow:
        uow.session.execute(
            delete(SessionRow).where(SessionRow.token_digest == db.vault.token_digest(token))
        )
        uow.commit()
    return True
