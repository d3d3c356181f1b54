"""Password reset by mailed link, for clients and administrators.

A request answers True whether or not the email belongs to an account, and does the same work
either way (a token is made and hashed, the recent links are counted), so neither the answer
nor its time tells who has an account. The link itself leaves in the event's private context:
the outbox reader writes the mail in this transaction and the worker sends it later, so no
SMTP time shows in the answer either.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update

from keyvend.db.models import Admin, Client, PasswordReset
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import InvalidInput, NotFound
from keyvend.domain.fields import email_address
from keyvend.domain.passwords import check_strength, hash_password
from keyvend.domain.vault import new_token
from keyvend.services.auth import Role, end_sessions

LINK_TTL = timedelta(hours=1)
# However many addresses ask, one inbox gets at most this many links an hour.
LINKS_PER_HOUR = 3
INVALID_LINK = "This reset link is invalid or has expired"
RESET_PAGES = {"client": "/password-reset", "admin": "/admin/password-reset"}


def request(db: Database, role: Role, email: str) -> bool:
    """Mail a reset link if `email` is an account of `role`; True either way."""
    address = email_address(email)
    token = new_token()
    digest = db.vault.token_digest(token)
    with db.unit_of_work() as uow:
        account = _by_email(uow, role, address)
        recent = _recent_links(uow, role, account.id if account else 0)
        if account is not None and recent < LINKS_PER_HOUR:
            _issue(uow, role, account, token, digest)
        uow.commit()
    return True


def send_for(db: Database, role: Role, account_id: int) -> bool:
    """Mail a reset link to one account (an admin sends a client theirs)."""
    token = new_token()
    with db.unit_of_work() as uow:
        account = _by_id(uow, role, account_id)
        if account is None:
            raise NotFound("Client not found" if role == "client" else "Admin not found")
        _issue(uow, role, account, token, db.vault.token_digest(token))
        uow.commit()
    return True


def confirm(db: Database, role: Role, token: str, password: str) -> bool:
    """Set a new password from a reset link: once, within the hour; every session ends."""
    check_strength(password)  # before the link is spent, so a short password can be retried
    if not token or len(token) > 256:
        raise InvalidInput(INVALID_LINK, field="token")
    digest = db.vault.token_digest(token)
    with db.unit_of_work() as uow:
        link = uow.session.scalar(
            select(PasswordReset).where(
                PasswordReset.token_digest == digest, PasswordReset.role == role
            )
        )
        if link is None or link.expires_at <= uow.now() or not _spend(uow, link):
            raise InvalidInput(INVALID_LINK, field="token")
        account = _by_id(uow, role, link.account_id)
        if account is None:
            raise InvalidInput(INVALID_LINK, field="token")
        account.password_hash = hash_password(password)
        if isinstance(account, Client):
            account.updated_at = uow.now()
        end_sessions(uow, role, account.id)
        _record(uow, role, "password_reset", account.id)
        uow.commit()
    return True


def forget(uow: UnitOfWork, role: Role, account_id: int) -> None:
    """Drop an account's reset links (it is deleted, or its email changed)."""
    uow.session.execute(
        delete(PasswordReset).where(
            PasswordReset.role == role, PasswordReset.account_id == account_id
        )
    )


def _by_id(uow: UnitOfWork, role: Role, account_id: int) -> Admin | Client | None:
    if role == "client":
        return uow.session.get(Client, account_id)
    return uow.session.get(Admin, account_id)


def _by_email(uow: UnitOfWork, role: Role, email: str) -> Admin | Client | None:
    if role == "client":
        return uow.session.scalar(select(Client).where(Client.email == email))
    return uow.session.scalar(select(Admin).where(Admin.email == email))


def _recent_links(uow: UnitOfWork, role: Role, account_id: int) -> int:
    """Links made for the account in the last hour (counted for unknown emails too)."""
    since = uow.now() - LINK_TTL
    found = uow.session.scalar(
        select(func.count(PasswordReset.id)).where(
            PasswordReset.role == role,
            PasswordReset.account_id == account_id,
            PasswordReset.created_at > since,
        )
    )
    return int(found or 0)


def _issue(uow: UnitOfWork, role: Role, account: Admin | Client, token: str, digest: str) -> None:
    """Store the link's digest and record the event whose reader writes the mail."""
    uow.session.add(
        PasswordReset(
            role=role,
            account_id=account.id,
            token_digest=digest,
            expires_at=uow.now() + LINK_TTL,
            created_at=uow.now(),
        )
    )
    link = uow.shop.link(f"{RESET_PAGES[role]}?token={token}")
    private = {"reset_url": link, "email": account.email}
    _record(uow, role, "password_reset_requested", account.id, private=private)


def _spend(uow: UnitOfWork, link: PasswordReset) -> bool:
    """Mark the link used; False if another request used it first (the update is atomic)."""
    result = uow.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == link.id, PasswordReset.used_at.is_(None))
        .values(used_at=uow.now())
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _record(
    uow: UnitOfWork, role: Role, what: str, account_id: int, private: dict[str, str] | None = None
) -> None:
    """`client.<what>` names the client; `staff.<what>` carries the admin's id in data."""
    if role == "client":
        uow.record(f"client.{what}", client_id=account_id, private=private)
    else:
        uow.record(f"staff.{what}", data={"admin_id": account_id}, private=private)
