"""Administrators (FOSSBilling's `staff`): creation and the first admin of a new install."""

from __future__ import annotations

from sqlalchemy import func, select

from keyvend.db.models import Admin
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import Conflict, NotFound
from keyvend.domain.fields import email_address
from keyvend.domain.passwords import check_strength, hash_password, random_password
from keyvend.domain.vault import new_token
from keyvend.schemas.account import NewAccount, StaffCreate, StaffPublic


def create_admin(db: Database, data: StaffCreate) -> NewAccount:
    """Create an administrator; returns its API token (shown once, stored hashed)."""
    email = email_address(data.email)
    password = random_password() if data.password is None else data.password
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
        return NewAccount(id=admin.id, email=email, password=password, api_token=token)


def create_first_admin(db: Database) -> NewAccount | None:
    """On a database without admins, create `admin@example.com`; else None."""
    with db.unit_of_work(read_only=True) as uow:
        if uow.session.scalar(select(func.count(Admin.id))):
            return None
    return create_admin(db, StaffCreate(email="admin@example.com"))


def get_profile(db: Database, admin_id: int) -> StaffPublic:
    """The admin's own profile."""
    with db.unit_of_work(read_only=True) as uow:
        admin = uow.session.get(Admin, admin_id)
        if admin is None:
            raise NotFound("Admin not found")
        return StaffPublic.model_validate(admin)
