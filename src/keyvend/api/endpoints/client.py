"""client and profile: accounts (admin), sign-up and login (guest), own profile (client)."""

from __future__ import annotations

from keyvend.api.endpoints.fields import Id, IdParams, ListParams, Password, Short
from keyvend.api.registry import Call, NoParams, Params, endpoint
from keyvend.edge.cookies import CART_COOKIE, SESSION_COOKIE, login_cookies, logout_cookies
from keyvend.schemas.account import (
    ClientCreate,
    ClientLogin,
    ClientPublic,
    ClientUpdate,
    ProfileUpdate,
)
from keyvend.schemas.common import Page
from keyvend.services import auth, cart, client, password_reset


class CreateParams(Params):
    email: Short
    first_name: Short
    last_name: Short | None = None
    password: Password | None = None


class SignupParams(Params):
    email: Short
    first_name: Short
    last_name: Short | None = None
    password: Password
    password_confirm: Password | None = None


class LoginParams(Params):
    email: Short
    password: Password


class ProfileParams(Params):
    first_name: Short | None = None
    last_name: Short | None = None
    company: Short | None = None
    address_1: Short | None = None
    city: Short | None = None
    postcode: Short | None = None
    country: Short | None = None


class UpdateParams(ProfileParams):
    id: Id
    email: Short | None = None
    status: Short | None = None
    password: Password | None = None


class ResetRequestParams(Params):
    email: Short


class ResetConfirmParams(Params):
    token: Short
    password: Password


class ChangePasswordParams(Params):
    current_password: Password
    new_password: Password


class ChangeEmailParams(Params):
    email: Short
    password: Password


class ClientListParams(ListParams):
    search: Short | None = None
    status: Short | None = None


@endpoint("admin", "client", "create", CreateParams)
def create(call: Call, p: CreateParams) -> int:
    """Create a client; returns its id."""
    return client.create(call.db, ClientCreate.model_validate(p.model_dump())).id


@endpoint("admin", "client", "api_key_reset", IdParams)
def admin_api_key_reset(call: Call, p: IdParams) -> str:
    """A new API token for a client (Basic auth `client:<token>`), shown once; the old one
    stops working at once."""
    return client.reset_api_token(call.db, p.id)


@endpoint("admin", "client", "get", IdParams)
def get(call: Call, p: IdParams) -> ClientPublic:
    """One client."""
    return client.get(call.db, p.id)


@endpoint("admin", "client", "get_list", ClientListParams)
def get_list(call: Call, p: ClientListParams) -> Page[ClientPublic]:
    """Clients, paginated; search by email or name, filter by status."""
    return client.get_list(call.db, search=p.search, status=p.status, page=p.page_spec())


@endpoint("admin", "client", "update", UpdateParams)
def update(call: Call, p: UpdateParams) -> bool:
    """Change a client's email, names, status or password."""
    changes = ClientUpdate.model_validate(p.model_dump(exclude={"id"}, exclude_unset=True))
    return client.update(call.db, p.id, changes)


@endpoint("admin", "client", "delete", IdParams)
def delete(call: Call, p: IdParams) -> bool:
    """Delete a client with their orders and keys."""
    return client.delete(call.db, p.id)


@endpoint("admin", "client", "send_reset", IdParams)
def send_reset(call: Call, p: IdParams) -> bool:
    """Mail the client a password-reset link (valid one hour, single use)."""
    return password_reset.send_for(call.db, "client", p.id)


@endpoint("guest", "client", "create", SignupParams)
def signup(call: Call, p: SignupParams) -> int:
    """Sign up as a client; returns the new client's id."""
    data = ClientCreate.model_validate(p.model_dump(exclude={"password_confirm"}))
    return client.signup(
        call.db, data, allowed=call.settings.allow_signup, confirm=p.password_confirm
    )


@endpoint("guest", "client", "login", LoginParams, limits=("login",))
def login(call: Call, p: LoginParams) -> ClientLogin:
    """Log in as a client: sets the session cookie and the keyvend_csrf cookie."""
    session = auth.login(
        call.db,
        "client",
        email=p.email,
        password=p.password,
        ttl_hours=call.settings.session_ttl_hours,
    )
    start_session(call, session)
    guest_cart = call.request.cookies.get(CART_COOKIE)
    if guest_cart:
        cart.merge_into_client(call.db, call.db.vault.token_digest(guest_cart), session.actor.id)
    return ClientLogin(
        **client.get(call.db, session.actor.id).model_dump(), csrf_token=session.csrf
    )


@endpoint("guest", "client", "reset_password", ResetRequestParams, limits=("password_reset",))
def reset_password(call: Call, p: ResetRequestParams) -> bool:
    """Mail a password-reset link to this email if it has an account; true either way."""
    return password_reset.request(call.db, "client", p.email)


@endpoint("guest", "client", "confirm_reset", ResetConfirmParams, limits=("password_reset",))
def confirm_reset(call: Call, p: ResetConfirmParams) -> bool:
    """Set a new password from a reset link; every session of the account ends."""
    return password_reset.confirm(call.db, "client", p.token, p.password)


@endpoint("client", "client", "logout")
def logout(call: Call, p: NoParams) -> bool:
    """End the browser session."""
    return end_session(call)


@endpoint("client", "profile", "get")
def profile(call: Call, p: NoParams) -> ClientPublic:
    """Your own profile."""
    return client.get(call.db, call.actor_id)


@endpoint("client", "profile", "update", ProfileParams)
def profile_update(call: Call, p: ProfileParams) -> ClientPublic:
    """Change your names and address; returns the profile."""
    data = ProfileUpdate.model_validate(p.model_dump(exclude_unset=True))
    return client.update_profile(call.db, call.actor_id, data)


@endpoint("client", "profile", "change_password", ChangePasswordParams)
def change_password(call: Call, p: ChangePasswordParams) -> bool:
    """Set a new password, giving the current one; your other sessions end."""
    return client.change_password(
        call.db,
        call.actor_id,
        current_password=p.current_password,
        new_password=p.new_password,
        keep_session=caller_session(call),
    )


@endpoint("client", "profile", "change_email", ChangeEmailParams)
def change_email(call: Call, p: ChangeEmailParams) -> bool:
    """Move your account to another email, giving your password."""
    return client.change_email(call.db, call.actor_id, email=p.email, password=p.password)


@endpoint("client", "profile", "api_key_reset")
def api_key_reset(call: Call, p: NoParams) -> str:
    """A new client API token (Basic auth `client:<token>`); the old one stops working."""
    return client.reset_api_token(call.db, call.actor_id)


def start_session(call: Call, session: auth.LoginSession) -> None:
    """Set the session and CSRF cookies of a fresh login."""
    call.cookies.extend(login_cookies(session, call.settings.session_ttl_hours))


def caller_session(call: Call) -> str | None:
    """The token digest of the session making this call; None when it came by API token."""
    token = call.request.cookies.get(SESSION_COOKIE)
    if not token or "authorization" in call.request.headers:
        return None
    return call.db.vault.token_digest(token)


def end_session(call: Call) -> bool:
    """Delete the session behind the cookie and clear both cookies."""
    token = call.request.cookies.get(SESSION_COOKIE)
    if token:
        auth.logout(call.db, token)
    call.cookies.extend(logout_cookies())
    return True
