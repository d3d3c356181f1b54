"""What the ASGI, WSGI and FastAPI integrations share: finding the key and judging it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs

from keyvend_client.errors import KeyNotFound, KeyvendError, RateLimited
from keyvend_client.models import KeyInfo

STATE_KEY = "keyvend"
"""Where a verified key is handed to the handler: ASGI `scope["state"]`, WSGI `environ`."""

DEFAULT_HEADER = "X-API-Key"
DEFAULT_QUERY_PARAM = "api_key"


class KeyChecker(Protocol):
    """Anything with a blocking `get_info`, such as `KeyvendClient`."""

    def get_info(self, key: str) -> KeyInfo: ...


class AsyncKeyChecker(Protocol):
    """Anything with an awaitable `get_info`, such as `AsyncKeyvendClient`."""

    def get_info(self, key: str) -> Awaitable[KeyInfo]: ...


@dataclass(frozen=True, slots=True)
class VerifiedKey:
    """A key the server found valid, and its custom parameters (`monthlyLimit`, ...)."""

    key: str = field(repr=False)  # keep keys out of logs and tracebacks
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Denial:
    """The JSON error answer for a request that may not pass."""

    status: int
    message: str
    retry_after: int | None = None

    def body(self) -> bytes:
        """`{"detail": message}`, the shape FastAPI uses for its own errors."""
        return json.dumps({"detail": self.message}).encode()

    def headers(self) -> dict[str, str]:
        """Headers beyond the content type: `Retry-After` when the server gave one."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

    @property
    def status_line(self) -> str:
        """`401 Unauthorized`, as WSGI wants it."""
        return f"{self.status} {HTTPStatus(self.status).phrase}"


INVALID_KEY = Denial(401, "Invalid API key")


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where requests carry their key: a header, else (when named) a query parameter."""

    header: str = DEFAULT_HEADER
    query_param: str | None = DEFAULT_QUERY_PARAM

    def find(self, header_value: str | None, query_string: str) -> str | None:
        """The key from the header value or the raw query string; None when absent or blank."""
        if header_value and header_value.strip():
            return header_value.strip()
        if self.query_param:
            values = parse_qs(query_string).get(self.query_param)
            if values and values[0].strip():
                return values[0].strip()
        return None

    @property
    def missing(self) -> Denial:
        """The answer to a request without a key, saying where to put one."""
        where = f"the {self.header} header"
        if self.query_param:
            where += f" or the {self.query_param} query parameter"
        return Denial(401, f"Missing API key: send it in {where}")


def judge(checker: KeyChecker, source: KeySource, key: str | None) -> VerifiedKey | Denial:
    """Ask `checker` about `key` and decide whether the request passes."""
    if key is None:
        return source.missing
    try:
        return verdict(key, checker.get_info(key))
    except KeyvendError as error:
        return denial_for(error)


async def judge_async(
    checker: AsyncKeyChecker, source: KeySource, key: str | None
) -> VerifiedKey | Denial:
    """`judge` for an asynchronous checker."""
    if key is None:
        return source.missing
    try:
        return verdict(key, await checker.get_info(key))
    except KeyvendError as error:
        return denial_for(error)


def verdict(key: str, info: KeyInfo) -> VerifiedKey | Denial:
    """Pass a valid key with its parameters; refuse an invalid one."""
    return VerifiedKey(key, info.params) if info.valid else INVALID_KEY


def denial_for(error: KeyvendError) -> Denial:
    """401 for an unknown key; 503 when the key could not be verified (fail closed)."""
    if isinstance(error, KeyNotFound):
        return INVALID_KEY
    if isinstance(error, RateLimited):
        return Denial(503, "API key verification is busy; try again later", error.retry_after)
    return Denial(503, "API key verification is unavailable; try again later")
