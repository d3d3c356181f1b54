"""A request id per request, and the optional access log: plain ASGI, outside everything.

It wraps the key check too, so it does as little as it can: one pass over the headers, the id
bound to structlog's context (every line logged while the request runs carries it), the id
added to the response headers. The access log, when on, costs a clock read and one line.
An incoming X-Request-ID is kept when it is short and printable, so a proxy's or a client's
id follows the request through; anything else is replaced, never echoed.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from contextvars import ContextVar
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyvend.edge.client_address import client_ip

HEADER = b"x-request-id"
_ACCEPTED = re.compile(rb"[\x21-\x7e]{1,64}")  # visible ASCII, no spaces, at most 64
# Unique across workers and hosts without a system call per request: a random prefix per
# process and a counter.
_PREFIX = os.urandom(6).hex()
_counter = itertools.count(1)
# Probes and scrapes arrive every few seconds: logged at debug, never at info.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = structlog.get_logger("keyvend.access")


def _context_var(name: str) -> ContextVar[Any]:
    """structlog's context variable for `name`, set and reset directly: binding through
    `bind_contextvars` costs several times more on every request."""
    token = structlog.contextvars.bind_contextvars(**{name: None})[name]
    token.var.reset(token)
    return token.var


_request_id = _context_var("request_id")


def new_request_id() -> str:
    """A fresh request id, e.g. 3f9a1c2e5b7d-1a."""
    return f"{_PREFIX}-{next(_counter):x}"


def incoming_request_id(scope: Scope) -> str | None:
    """The caller's X-Request-ID, if it is one worth keeping."""
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _ACCEPTED.fullmatch(value) else None
    return None


class RequestContext:
    """Give every HTTP request an id (bound to the log context, echoed as X-Request-ID)."""

    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or new_request_id()
        token = _request_id.set(request_id)
        header = (HEADER, request_id.encode("ascii"))
        status = 500  # what the client gets if the app fails before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        started = time.perf_counter() if self.access_log else 0.0
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                _log_request(scope, status, time.perf_counter() - started)
            _request_id.reset(token)


def _log_request(scope: Scope, status: int, seconds: float) -> None:
    """One access-log line; the path only, since a query string may carry a key."""
    path = scope.get("path", "")
    log = access_log.debug if path in QUIET_PATHS else access_log.info
    log(
        "request",
        method=scope.get("method"),
        path=path,
        status=status,
        duration_ms=round(seconds * 1000, 3),
        client_ip=client_ip(scope),
    )
