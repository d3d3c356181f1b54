"""staff and admin profile: administrators, their login, logout, profile and password reset."""

from __future__ import annotations

from keyvend.api.endpoints.client import (
    ChangeEmailParams,
    ChangePasswordParams,
    LoginParams,
    ResetConfirmParams,
    ResetRequestParams,
    caller_session,
    end_session,
    start_session,
)
from keyvend.api.endpoints.fields import Id, IdParams, Password, Short
from keyvend.api.registry import Call, NoParams, Params, endpoint
from keyvend.schemas.account import StaffCreate, StaffLogin, StaffPublic, StaffUpdate
from keyvend.services import auth, password_reset, staff


class StaffCreateParams(Params):
    email: Short
    name: Short | None = None
    password: Password | None = None


class StaffUpdateParams(Params):
    id: Id
    email: Short | None = None
    name: Short | None = None


@endpoint("guest", "staff", "login", LoginParams, limits=("login",))
def login(call: Call, p: LoginParams) -> StaffLogin:
    """Log in as an administrator: sets the session and keyvend_csrf cookies."""
    session = auth.login(
        call.db,
        "admin",
        email=p.email,
        password=p.password,
        ttl_hours=call.settings.session_ttl_hours,
    )
    start_session(call, session)
    profile = staff.get_profile(call.db, session.actor.id)
    return StaffLogin(**profile.model_dump(), csrf_token=session.csrf)


@endpoint("guest", "staff", "reset_password", ResetRequestParams, limits=("password_reset",))
def reset_password(call: Call, p: ResetRequestParams) -> bool:
    """Mail a password-reset link to this email if it is an admin's; true either way."""
    return password_reset.request(call.db, "admin", p.email)


@endpoint("guest", "staff", "confirm_reset", ResetConfirmParams, limits=("password_reset",))
def confirm_reset(call: Call, p: ResetConfirmParams) -> bool:
    """Set a new admin password from a reset link; every session of the account ends."""
    return password_reset.confirm(call.db, "admin", p.token, p.password)


@endpoint("admin", "staff", "logout")
def logout(call: Call, p: NoParams) -> bool:
    """End the administrator's browser session."""
    return end_session(call)


@endpoint("admin", "staff", "get_list")
def get_list(call: Call, p: NoParams) -> list[StaffPublic]:
    """Every administrator."""
    return staff.get_list(call.db)


@endpoint("admin", "staff", "create", StaffCreateParams)
def create(call: Call, p: StaffCreateParams) -> int:
    """Create an administrator; returns its id."""
    return staff.create_admin(call.db, StaffCreate.model_validate(p.model_dump())).id


@endpoint("admin", "staff", "update", StaffUpdateParams)
def update(call: Call, p: StaffUpdateParams) -> StaffPublic:
    """Change an administrator's email or name."""
    changes = StaffUpdate.model_validate(p.model_dump(exclude={"id"}, exclude_unset=True))
    return staff.update(call.db, p.id, changes)


@endpoint("admin", "staff", "delete", IdParams)
def delete(call: Call, p: IdParams) -> bool:
    """Delete an administrator; never the last one."""
    return staff.delete(call.db, p.id)


@endpoint("admin", "profile", "get")
def profile(call: Call, p: NoParams) -> StaffPublic:
    """The administrator's own profile."""
    return staff.get_profile(call.db, call.actor_id)


@endpoint("admin", "profile", "change_password", ChangePasswordParams)
def change_password(call: Call, p: ChangePasswordParams) -> bool:
    """Set a new password, giving the current one; your other sessions end."""
    return staff.change_password(
        call.db,
        call.actor_id,
        current_password=p.current_password,
        new_password=p.new_password,
        keep_session=caller_session(call),
    )


@endpoint("admin", "profile", "change_email", ChangeEmailParams)
def change_email(call: Call, p: ChangeEmailParams) -> bool:
    """Move your account to another email, giving your password."""
    return staff.change_email(call.db, call.actor_id, email=p.email, password=p.password)
