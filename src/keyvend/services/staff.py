"""Administrators (FOSSBilling's `staff`): the team, each admin's own profile, and the first
admin of a new install."""

from __future__ import annotations

from sqlalchemy import func, select

from keyvend.db.models import Admin
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, NotFound
from keyvend.domain.fields import email_address, text
from keyvend.domain.passwords import check_strength, hash_password, random_password
from keyvend.domain.vault import new_token
from keyvend.schemas.account import NewAccount, StaffCreate, StaffPublic, StaffUpdate
from keyvend.services import password_reset
from keyvend.services.auth import check_password, end_sessions

LAST_ADMIN = "The last admin cannot be deleted"


def create_admin(db: Database, data: StaffCreate) -> NewAccount:
    """Create an administrator; returns its API token (shown once, stored hashed)."""
    email = email_address(data.email)
    name = text(data.name or email.split("@")[0], name="name", max_length=255)
    password = random_password() if data.password is None else data.password
    check_strength(password)
    token = new_token()
    with db.unit_of_work() as uow:
        _email_free(uow, email)
        admin = Admin(
            email=email,
            name=name,
            password_hash=hash_password(password),
            api_token_digest=db.vault.token_digest(token),
            created_at=uow.now(),
        )
        uow.session.add(admin)
        uow.flush()
        uow.record("staff.created", data={"admin_id": admin.id})
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
        return StaffPublic.model_validate(_admin(uow, admin_id))


def get_list(db: Database) -> list[StaffPublic]:
    """Every administrator, oldest first."""
    with db.unit_of_work(read_only=True) as uow:
        admins = uow.session.scalars(select(Admin).order_by(Admin.id))
        return [StaffPublic.model_validate(admin) for admin in admins]


def update(db: Database, admin_id: int, data: StaffUpdate) -> StaffPublic:
    """Change an administrator's email or name (unset or null fields stay)."""
    with db.unit_of_work() as uow:
        admin = _admin(uow, admin_id)
        if data.name is not None:
            admin.name = text(data.name, name="name", max_length=255)
        if data.email is not None:
            _set_email(uow, admin, email_address(data.email))
        fields = sorted(data.model_dump(exclude_unset=True, exclude_none=True))
        uow.record("staff.updated", data={"admin_id": admin.id, "fields": fields})
        uow.commit()
        return StaffPublic.model_validate(admin)


def delete(db: Database, admin_id: int) -> bool:
    """Delete an administrator, never the last one (an admin may delete themself if another
    remains); their sessions and reset links go with them."""
    with db.unit_of_work() as uow:
        # Locking every admin row makes two admins deleting each other at once take turns,
        # so the second sees that only one would remain.
        remaining = uow.session.scalars(select(Admin.id).with_for_update()).all()
        if admin_id not in remaining:
            raise NotFound("Admin not found")
        if len(remaining) == 1:
            raise Conflict(LAST_ADMIN)
        uow.session.delete(_admin(uow, admin_id))
        end_sessions(uow, "admin", admin_id)
        password_reset.forget(uow, "admin", admin_id)
        uow.record("staff.deleted", data={"admin_id": admin_id})
        uow.commit()
    return True


def change_password(
    db: Database,
    admin_id: int,
    *,
    current_password: str,
    new_password: str,
    keep_session: str | None = None,
) -> bool:
    """An admin sets a new password, giving the current one; every other session ends."""
    check_strength(new_password)
    with db.unit_of_work() as uow:
        uow.actor = f"admin:{admin_id}"
        admin = _admin(uow, admin_id)
        check_password(admin, current_password, field="current_password")
        admin.password_hash = hash_password(new_password)
        end_sessions(uow, "admin", admin.id, keep=keep_session)
        uow.record("staff.updated", data={"admin_id": admin.id, "fields": ["password"]})
        uow.commit()
    return True


def change_email(db: Database, admin_id: int, *, email: str, password: str) -> bool:
    """An admin moves their account to another email, giving their password."""
    address = email_address(email)
    with db.unit_of_work() as uow:
        uow.actor = f"admin:{admin_id}"
        admin = _admin(uow, admin_id)
        check_password(admin, password, field="password")
        _set_email(uow, admin, address)
        uow.record("staff.updated", data={"admin_id": admin.id, "fields": ["email"]})
        uow.commit()
    return True


def _set_email(uow: UnitOfWork, admin: Admin, email: str) -> None:
    """Move the admin to `email`; links mailed to the old address stop working."""
    if email == admin.email:
        return
    _email_free(uow, email)
    admin.email = email
    password_reset.forget(uow, "admin", admin.id)


def _admin(uow: UnitOfWork, admin_id: int) -> Admin:
    admin = uow.session.get(Admin, admin_id)
    if admin is None:
        raise NotFound("Admin not found")
    return admin


def _email_free(uow: UnitOfWork, email: str) -> None:
    if uow.session.scalar(select(Admin.id).where(Admin.email == email)) is not None:
        error = Conflict(f"An admin with email {email} already exists")
        error.field = "email"
        raise error
