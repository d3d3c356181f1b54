"""Who is calling: HTTP Basic (`admin` or `client` + API token), or a session cookie + CSRF."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import AdminRequired, ClientRequired, Unauthenticated
from keyvend.edge import csrf
from keyvend.edge.cookies import SESSION_COOKIE
from keyvend.services import auth
from keyvend.services.auth import Actor


def identify(db: Database, request: Request, role: str) -> Actor | None:
    """The caller, or None for an anonymous guest; wrong credentials are an error."""
    header = request.headers.get("authorization")
    if header:
        return auth.actor_from_token(db, *_basic(header))
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    sent = request.headers.get(csrf.CSRF_HEADER)
    if role == "guest" and sent is None:
        return None  # a plain guest call from a browser that happens to hold a session
    actor, session_csrf = auth.live_session(db, token)
    csrf.require_header(sent, session_csrf)
    return actor


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
