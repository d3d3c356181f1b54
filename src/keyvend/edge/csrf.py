"""CSRF tokens: API calls on a browser session echo the session's token in X-CSRF-Token;
page forms carry it in a hidden `csrf` field (before login, the `keyvend_form` cookie's)."""

from __future__ import annotations

from keyvend.domain.errors import CsrfRejected
from keyvend.domain.vault import same

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"


def matches(sent: str | None, expected: str | None) -> bool:
    """Whether `sent` is the expected token (constant time; a missing one never matches)."""
    if not sent or expected is None:
        return False
    return same(sent, expected)


def require_header(sent: str | None, session_csrf: str) -> None:
    """A session-authenticated API call must carry its session's token (code 204)."""
    if not matches(sent, session_csrf):
        raise CsrfRejected("Invalid or missing CSRF token (send it in X-CSRF-Token)")


def form_ok(
    sent: str, *, session_csrf: str | None, form_token: str | None, public_page: bool
) -> bool:
    """Whether a posted form carries the session's token, or (on a page anyone may post to,
    such as log in and sign up) the double-submit token of the form cookie."""
    if matches(sent, session_csrf):
        return True
    return public_page and matches(sent, form_token)
