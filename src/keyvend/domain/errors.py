"""The one exception tree of Keyvend, and its table of codes.

Each error class carries its FOSSBilling error code, the HTTP status the API answers it with,
and a title for people (error pages, the README's table). The API's envelope and the web
pages map errors by class, in one place each; nothing else decides a status.
"""

from __future__ import annotations

from typing import ClassVar

# FOSSBilling's error codes (DESIGN.md section 3), named once.
GENERIC = 9999  # a refusal: bad input, not found, conflict (HTTP 200, as FOSSBilling)
BAD_CREDENTIALS = 201  # wrong token, email or password
CLIENT_REQUIRED = 202  # a client endpoint called without client credentials
ADMIN_REQUIRED = 203  # an admin endpoint called without admin credentials
BAD_CSRF = 204  # a session call without the matching X-CSRF-Token
SESSION_EXPIRED = 205  # the session cookie names no live session
ACCOUNT_DISABLED = 206  # the client account is not active
FORBIDDEN = 403
RATE_LIMITED = 429
SERVICE_UNAVAILABLE = 503  # the database (or another part the call needs) is unreachable
MALFORMED_BODY = 701  # the request body cannot be read
MODULE_INACTIVE = 715  # the extension behind the endpoint is not active
METHOD_NOT_FOUND = 740
MALFORMED_CALL = 879  # the URL does not name a call


class KeyvendError(Exception):
    """Base of every error a service may raise; a refusal unless a subclass says otherwise."""

    code: ClassVar[int] = GENERIC
    status: ClassVar[int] = 200
    title: ClassVar[str] = "Not possible"
    field: str | None = None  # the parameter or form field the error is about, if one

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(KeyvendError):
    """A parameter is missing, of the wrong type or outside its rule; `field` names it."""

    title = "Invalid input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(KeyvendError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    title = "Not found"


class Conflict(KeyvendError):
    """The request is valid but the current state forbids it."""

    title = "Not possible"


class GatewayError(KeyvendError):
    """A payment gateway (Stripe) refused or could not be reached; nothing was changed."""

    title = "Payment gateway error"


class Unauthenticated(KeyvendError):
    """No valid credentials: wrong token, email or password."""

    code = BAD_CREDENTIALS
    status = 401
    title = "Authentication failed"


class LoginFailed(Unauthenticated):
    """A login with a wrong email or password; counts against the login budgets."""

    title = "Login failed"


class ClientRequired(Unauthenticated):
    """A client endpoint called without client credentials."""

    code = CLIENT_REQUIRED
    title = "Client login required"


class AdminRequired(Unauthenticated):
    """An admin endpoint called without admin credentials."""

    code = ADMIN_REQUIRED
    title = "Admin login required"


class CsrfRejected(Unauthenticated):
    """A session-authenticated call without the session's CSRF token."""

    code = BAD_CSRF
    title = "Invalid CSRF token"


class SessionExpired(Unauthenticated):
    """The session cookie names no live session."""

    code = SESSION_EXPIRED
    title = "Session expired"


class AccountDisabled(Unauthenticated):
    """The account exists but is not active."""

    code = ACCOUNT_DISABLED
    title = "Account not active"


class Forbidden(KeyvendError):
    """Authenticated, but not allowed."""

    code = FORBIDDEN
    status = 403
    title = "Forbidden"


class RateLimited(KeyvendError):
    """Too many requests; `retry_after` is in whole seconds."""

    code = RATE_LIMITED
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests. Try again in {wait_in_words(retry_after)}.")
        self.retry_after = retry_after


DATABASE_UNAVAILABLE = "The database is busy or unavailable; please try again"


class ServiceUnavailable(KeyvendError):
    """A part the call needs (the database) is unreachable; retry after `retry_after` s."""

    code = SERVICE_UNAVAILABLE
    status = 503
    title = "Service unavailable"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MalformedCall(KeyvendError):
    """The URL does not name a call."""

    code = MALFORMED_CALL
    status = 400
    title = "Malformed call"


class MalformedBody(MalformedCall):
    """The request body cannot be read (not JSON, not UTF-8, too large, bad names)."""

    code = MALFORMED_BODY
    title = "Malformed request body"


class BodyTooLarge(MalformedBody):
    """The request body is over the server's ceiling; refused before or while it is read."""

    status = 413
    title = "Request body too large"


class ModuleInactive(KeyvendError):
    """The extension behind the endpoint is deactivated or uninstalled."""

    code = MODULE_INACTIVE
    title = "Module not active"

    def __init__(self, module: str) -> None:
        super().__init__(f"Module {module} is not active")


class MethodNotFound(KeyvendError):
    """No such module or method for this role."""

    code = METHOD_NOT_FOUND
    status = 404
    title = "Method not found"


def wait_in_words(seconds: int) -> str:
    """`42 seconds`, `1 minute`, `48 minutes`: how people read a wait (never "2831 seconds")."""
    if seconds < 120:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = -(-seconds // 60)
    return f"{minutes} minutes"


def error_classes() -> list[type[KeyvendError]]:
    """Every error class of the tree, base first (the README's table lists each)."""
    found: list[type[KeyvendError]] = [KeyvendError]
    for cls in found:
        found.extend(sub for sub in cls.__subclasses__() if sub not in found)
    return found
