"""Every cookie Keyvend sets, and the one function that writes them on a response.

All share path "/" and SameSite=Lax, are HttpOnly except the CSRF cookie (scripts echo it in
X-CSRF-Token), and are `Secure` when the request came over https (as the scope says, so a
trusted proxy's X-Forwarded-Proto counts): plain-HTTP localhost still works.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response

from keyvend.services.auth import LoginSession

SESSION_COOKIE = "keyvend_session"
CSRF_COOKIE = "keyvend_csrf"
CART_COOKIE = "keyvend_cart"
FLASH_COOKIE = "keyvend_flash"  # a page's one-time message after a redirect
FORM_COOKIE = "keyvend_form"  # the double-submit CSRF token of forms shown before login


@dataclass(frozen=True)
class Cookie:
    """One cookie to send: `value` for `max_age` seconds, or (value None) its deletion."""

    name: str
    value: str | None
    max_age: int = 0


def login_cookies(session: LoginSession, ttl_hours: int) -> list[Cookie]:
    """The session cookie and the CSRF cookie of a fresh login."""
    max_age = ttl_hours * 3600
    return [
        Cookie(SESSION_COOKIE, session.token, max_age),
        Cookie(CSRF_COOKIE, session.csrf, max_age),
    ]


def logout_cookies() -> list[Cookie]:
    """The deletions of both login cookies."""
    return [Cookie(SESSION_COOKIE, None), Cookie(CSRF_COOKIE, None)]


def write_cookies(request: HTTPConnection, response: Response, cookies: Iterable[Cookie]) -> None:
    """Set (or delete) `cookies` on `response` with the options every Keyvend cookie shares."""
    secure = request.scope.get("scheme") == "https"
    for cookie in cookies:
        http_only = cookie.name != CSRF_COOKIE
        if cookie.value is None:
            response.delete_cookie(
                cookie.name, path="/", secure=secure, httponly=http_only, samesite="lax"
            )
        else:
            response.set_cookie(
                cookie.name,
                cookie.value,
                max_age=cookie.max_age,
                path="/",
                secure=secure,
                httponly=http_only,
                samesite="lax",
            )
