"""Administrators (FOSSBilling's `staff`): creation and the first admin of a new install."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from keyvend.db.models import Admin
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import Conflict
from keyvend.domain.fields import email_address
from keyvend.domain.passwords import check_strength, hash_password, random_password
from keyvend.domain.vault import new_token


@dataclass(frozen=True)
class NewAccount:
    """An account just created, with the secrets shown to its owner once."""

    id: int
    email: str
    password: str
    api_token: str

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "api_token": self.api_token}


def create_admin(db: Database, email: str, *, password: str | None = None) -> NewAccount:
    """Create an administrator; returns its API token (shown once, stored hashed)."""
    email = email_address(email)
    password = random_password() if password is None else password
    check_strength(password)
    token = new_token()
    with db.unit_of_work() as uow:
        if uow.session.scalar(select(Admin.id).where(Admin.email == email)) is not None:
            raise Conflict(f"An admin with email {email} already exists")
        admin = Admin(
            email=email,
            name=email.split("@")[0],
            password_hash=hash_password(password),
            api_token_digest=db.vault.token_digest(token),
            created_at=uow.now(),
        )
        uow.session.add(admin)
        uow.commit()
        return NewAccount(admin.id, email, password, token)


def create_first_admin(db: Database) -> NewAccount | None:
    """On a database without admins, create `admin@example.com`; else None."""
    with db.unit_of_work(read_only=True) as uow:
        if uow.session.scalar(select(func.count(Admin.id))):
            return None
    return create_admin(db, "admin@example.com")


def get_profile(db: Database, admin_id: int) -> dict[str, Any]:
    """The admin's own profile."""
    with db.unit_of_work(read_only=True) as uow:
        admin = uow.session.get(Admin, admin_id)
        if admin is None:
            raise Conflict("Admin not found")
        return {"id": admin.id, "email": admin.email, "name": admin.name, "role": "admin"}
