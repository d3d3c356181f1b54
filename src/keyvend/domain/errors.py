"""The one exception tree of Keyvend; each error carries its FOSSBilling code."""

from __future__ import annotations


class KeyvendError(Exception):
    """Base of every error a service may raise; `code` is the envelope's error code."""

    code = 9999

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(KeyvendError):
    """A parameter is missing, of the wrong type or outside its rule."""


class NotFound(KeyvendError):
    """The thing asked for does not exist (or is not the caller's to see)."""


class Conflict(KeyvendError):
    """The request is valid but the current state forbids it."""


class Unauthenticated(KeyvendError):
    """No valid credentials for a role that needs them (codes 201-206)."""

    code = 201


class Forbidden(KeyvendError):
    """Authenticated, but not allowed."""

    code = 403


class ModuleInactive(KeyvendError):
    """The extension behind the endpoint is deactivated or uninstalled."""

    code = 715

    def __init__(self, module: str) -> None:
        super().__init__(f"Module {module} is not active", 715)


class MethodNotFound(KeyvendError):
    """No such module or method for this role."""

    code = 740


class MalformedCall(KeyvendError):
    """The URL does not name a call (code 879) or the body cannot be read (code 701)."""

    code = 879


class RateLimited(KeyvendError):
    """Too many requests; `retry_after` is in whole seconds."""

    code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests. Try again in {retry_after} seconds.", 429)
        self.retry_after = retry_after
