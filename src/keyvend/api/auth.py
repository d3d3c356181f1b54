"""Who is calling: HTTP Basic (`admin` or `client` + API token), or a session cookie + CSRF."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import AdminRequired, ClientRequired, Unauthenticated
from keyvend.services import auth
from keyvend.services.auth import Actor

SESSION_COOKIE = "keyvend_session"
CSRF_COOKIE = "keyvend_csrf"
CSRF_HEADER = "x-csrf-token"
CART_COOKIE = "keyvend_cart"


def login_cookies(session: auth.LoginSession, ttl_hours: int) -> list[tuple[str, str, bool, int]]:
    """The cookies a login sets, as (name, value, http_only, max_age): the session cookie,
    and the CSRF cookie that scripts must be able to read."""
    max_age = ttl_hours * 3600
    return [
        (SESSION_COOKIE, session.token, True, max_age),
        (CSRF_COOKIE, session.csrf, False, max_age),
    ]


def identify(db: Database, request: Request, role: str) -> Actor | None:
    """The caller, or None for an anonymous guest; wrong credentials are an error."""
    header = request.headers.get("authorization")
    if header:
        return auth.actor_from_token(db, *_basic(header))
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    csrf = request.headers.get(CSRF_HEADER)
    if role == "guest" and csrf is None:
        return None  # a plain guest call from a browser that happens to hold a session
    return auth.session_actor(db, token, csrf=csrf, check_csrf=True)


def require_role(role: str, actor: Actor | None) -> None:
    """Client endpoints need a client, admin endpoints an admin (codes 202 / 203)."""
    if role == "client" and (actor is None or actor.role != "client"):
        raise ClientRequired("Client is not logged in")
    if role == "admin" and (actor is None or actor.role != "admin"):
        raise AdminRequired("Admin is not logged in")


def _basic(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthenticated("Authentication Failed: use HTTP Basic")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("Authentication Failed") from None
    return user, password
