"""Response headers that whole parts of the site carry (static files, the API docs)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The docs page is server-rendered HTML with the shared stylesheet: no script, no inline style.
DOCS_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
DOCS_HEADERS = {**NOSNIFF, "Content-Security-Policy": DOCS_POLICY}


class WithHeaders:
    """An ASGI app wrapped so that each of its responses carries `headers`."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(self.headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
