"""staff and admin profile: administrator login, logout and profile."""

from __future__ import annotations

from typing import Any

from keyvend.api.endpoints.client import LoginParams, end_session, start_session
from keyvend.api.registry import Call, NoParams, endpoint
from keyvend.schemas.account import StaffPublic
from keyvend.services import auth, staff


@endpoint("guest", "staff", "login", LoginParams, limits=("login",))
def login(call: Call, p: LoginParams) -> dict[str, Any]:
    """Log in as an administrator: sets the session and keyvend_csrf cookies."""
    session = auth.login(
        call.db,
        "admin",
        email=p.email,
        password=p.password,
        ttl_hours=call.settings.session_ttl_hours,
    )
    start_session(call, session)
    profile = staff.get_profile(call.db, session.actor.id).model_dump(mode="json")
    return {**profile, "csrf_token": session.csrf}


@endpoint("admin", "staff", "logout")
def logout(call: Call, p: NoParams) -> bool:
    """End the administrator's browser session."""
    return end_session(call)


@endpoint("admin", "profile", "get")
def profile(call: Call, p: NoParams) -> StaffPublic:
    """The administrator's own profile."""
    return staff.get_profile(call.db, call.actor_id)
