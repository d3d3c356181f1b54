"""A ceiling on request bodies, enforced before and while they are read.

A body whose Content-Length is over the ceiling is refused before a byte of it is read; a
chunked body (no length) is counted as it streams, and refused the moment it passes the
ceiling. So no request can make a worker hold more than the ceiling in memory, however
large the body it announces or sends. The API and the pages refuse smaller bodies themselves
(1 MB), with their own answers; this is the backstop for everything.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyvend.domain.errors import BodyTooLarge

MAX_BODY_BYTES = 4_000_000


class BodyLimit:
    """ASGI middleware: 413 for bodies over `limit`; `refuse(path, error)` words the answer."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        refuse: Callable[[str, BodyTooLarge], Response],
        limit: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.refuse = refuse
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            response = self.refuse(scope["path"], BodyTooLarge(self._message()))
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self._message())
            return message

        return counted

    def _message(self) -> str:
        return f"Request body is larger than {self.limit} bytes"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) < 20 else None
    return None
