"""The errors a Keyvend client raises; all derive from `KeyvendError`."""

from __future__ import annotations


class KeyvendError(Exception):
    """Base of every error raised by `keyvend_client`."""


class KeyNotFound(KeyvendError):
    """The server does not know the key (it never existed, or it was reset)."""

    def __init__(self) -> None:
        # The key itself is never put into the message: exceptions end up in logs.
        super().__init__("API key does not exist")


class RateLimited(KeyvendError):
    """The server refused the call for now; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Keyvend rate limit reached; retry after {retry_after} seconds")
        self.retry_after = retry_after


class ServerUnavailable(KeyvendError):
    """The server could not be reached or did not give a Keyvend answer."""


class Unauthorized(KeyvendError):
    """The server refused the application token (HTTP 401): fix the configuration.

    Raised by every call of a client whose `app_token` is wrong (or was reset); it is never
    cached, retried or covered by `ServeStale`. The message never contains the token.
    """

    def __init__(self, message: str = "Keyvend refused the application token") -> None:
        super().__init__(message)


class ApiError(KeyvendError):
    """Any other error envelope from the server, with its message and FOSSBilling code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(f"{message} (code {code})")
        self.message = message
        self.code = code
