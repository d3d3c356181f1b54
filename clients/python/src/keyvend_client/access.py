"""What the ASGI, WSGI and FastAPI integrations share: finding the key and judging it."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs

from keyvend_client.answers import check_cost
from keyvend_client.errors import KeyNotFound, KeyvendError, RateLimited
from keyvend_client.models import KeyInfo, Quota, Verification, VerifyCode

STATE_KEY = "keyvend"
"""Where a verified key is handed to the handler: ASGI `scope["state"]`, WSGI `environ`."""

DEFAULT_HEADER = "X-API-Key"
DEFAULT_QUERY_PARAM = "api_key"

R = TypeVar("R")
Cost = int | Callable[[R], int] | None
"""What a request costs: None (only check the key, cached), a whole number, or a function of
the request (ASGI scope, WSGI environ, FastAPI `Request`) returning one."""


class KeyChecker(Protocol):
    """Anything with a blocking `get_info` and `verify`, such as `KeyvendClient`."""

    def get_info(self, key: str) -> KeyInfo: ...

    def verify(self, key: str, cost: int = ...) -> Verification: ...


class AsyncKeyChecker(Protocol):
    """Anything with an awaitable `get_info` and `verify`, such as `AsyncKeyvendClient`."""

    def get_info(self, key: str) -> Awaitable[KeyInfo]: ...

    def verify(self, key: str, cost: int = ...) -> Awaitable[Verification]: ...


@dataclass(frozen=True, slots=True)
class VerifiedKey:
    """A key the server found valid, and its custom parameters (`monthlyLimit`, ...).

    `quota` is what the key has left after this request, when the integration spends a cost
    and the key's product has a quota; else None.
    """

    key: str = field(repr=False)  # keep keys out of logs and tracebacks
    params: Mapping[str, Any]
    quota: Quota | None = None


@dataclass(frozen=True, slots=True)
class Denial:
    """The JSON error answer for a request that may not pass."""

    status: int
    message: str
    retry_after: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        """`{"detail": message, ...}`, the shape FastAPI uses for its own errors."""
        return json.dumps({"detail": self.message, **self.extra}).encode()

    def headers(self) -> dict[str, str]:
        """Headers beyond the content type: `Retry-After` when known."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

    @property
    def status_line(self) -> str:
        """`401 Unauthorized`, as WSGI wants it."""
        return f"{self.status} {HTTPStatus(self.status).phrase}"


INVALID_KEY = Denial(401, "Invalid API key")
RATE_LIMITED = Denial(
    429,
    "API key rate limit reached; slow down and try again",
    extra={"code": VerifyCode.RATE_LIMITED.value},
)


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


def checked_cost(cost: Cost[R]) -> Cost[R]:
    """`cost` if it is a usable option; `ValueError` / `TypeError` at setup otherwise."""
    if cost is None or callable(cost):
        return cost
    check_cost(cost)
    return cost


def cost_of(cost: Cost[R], request: R) -> int | None:
    """What `request` costs under the option `cost` (None: only check the key)."""
    if cost is None or isinstance(cost, int):
        return cost
    spent = cost(request)
    check_cost(spent)  # a cost function returning nonsense is a programming error
    return spent


def judge(
    checker: KeyChecker, source: KeySource, key: str | None, cost: int | None = None
) -> VerifiedKey | Denial:
    """Ask `checker` about `key` (`verify` it when a `cost` is given) and decide whether the
    request passes."""
    if key is None:
        return source.missing
    try:
        if cost is None:
            return verdict(key, checker.get_info(key))
        return verification_verdict(key, checker.verify(key, cost))
    except KeyvendError as error:
        return denial_for(error)


async def judge_async(
    checker: AsyncKeyChecker, source: KeySource, key: str | None, cost: int | None = None
) -> VerifiedKey | Denial:
    """`judge` for an asynchronous checker."""
    if key is None:
        return source.missing
    try:
        if cost is None:
            return verdict(key, await checker.get_info(key))
        return verification_verdict(key, await checker.verify(key, cost))
    except KeyvendError as error:
        return denial_for(error)


def verdict(key: str, info: KeyInfo) -> VerifiedKey | Denial:
    """Pass a valid key with its parameters; refuse an invalid one."""
    return VerifiedKey(key, info.params) if info.valid else INVALID_KEY


def verification_verdict(key: str, found: Verification) -> VerifiedKey | Denial:
    """Pass a valid key; 429 for a spent quota or rate limit; 401 for any other refusal."""
    if found.valid:
        return VerifiedKey(key, found.params, found.quota)
    if found.code == VerifyCode.USAGE_EXCEEDED:
        return quota_spent(found.quota, datetime.now(UTC))
    if found.code == VerifyCode.RATE_LIMITED:
        return RATE_LIMITED
    return INVALID_KEY


def quota_spent(quota: Quota | None, now: datetime) -> Denial:
    """429 saying the quota is used up, and (when it starts again) when to come back."""
    extra: dict[str, Any] = {"code": VerifyCode.USAGE_EXCEEDED.value}
    if quota is None:
        return Denial(429, "API key quota used up", extra=extra)
    reset_at = None if quota.reset_at is None else quota.reset_at.isoformat()
    extra["quota"] = {"limit": quota.limit, "remaining": quota.remaining, "reset_at": reset_at}
    message = f"API key quota of {quota.limit} used up"
    if quota.reset_at is None:
        return Denial(429, message + "; it does not start again", extra=extra)
    wait = max(1, math.ceil((quota.reset_at - now).total_seconds()))
    return Denial(429, f"{message}; it starts again at {reset_at}", wait, extra)


def denial_for(error: KeyvendError) -> Denial:
    """401 for an unknown key; 503 when the key could not be verified (fail closed)."""
    if isinstance(error, KeyNotFound):
        return INVALID_KEY
    if isinstance(error, RateLimited):
        return Denial(503, "API key verification is busy; try again later", error.retry_after)
    return Denial(503, "API key verification is unavailable; try again later")
