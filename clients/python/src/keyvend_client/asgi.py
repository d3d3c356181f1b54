"""ASGI middleware: only requests with a valid key reach the application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from keyvend_client.access import (
    DEFAULT_HEADER,
    DEFAULT_QUERY_PARAM,
    STATE_KEY,
    AsyncKeyChecker,
    Cost,
    Denial,
    KeySource,
    checked_cost,
    cost_of,
    judge_async,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

POLICY_VIOLATION = 1008  # WebSocket close code


class KeyvendMiddleware:
    """Checks the key of every HTTP and WebSocket request with an `AsyncKeyvendClient`.

    A missing or invalid key gets 401 in JSON (`{"detail": ...}`), a key that cannot be verified
    503; a valid key is handed to the handler as `scope["state"]["keyvend"]` (Starlette and
    FastAPI: `request.state.keyvend`), a `VerifiedKey` with the key's custom parameters.

    With a `cost` (a whole number, or a function of the scope) every request is verified with
    the server, spending that much of the key's quota; a spent quota or rate limit gets 429.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        client: AsyncKeyChecker,
        header: str = DEFAULT_HEADER,
        query_param: str | None = DEFAULT_QUERY_PARAM,
        exempt_paths: Collection[str] = (),
        cost: Cost[Scope] = None,
    ) -> None:
        self.app = app
        self._client = client
        self._cost = checked_cost(cost)
        self._source = KeySource(header, query_param)
        self._header = header.lower().encode("latin-1")
        self._exempt = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self._exempt:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        key = self._source.find(self._header_value(scope), query)
        cost = None if key is None else cost_of(self._cost, scope)
        outcome = await judge_async(self._client, self._source, key, cost)
        if isinstance(outcome, Denial):
            if scope["type"] == "http":
                await _refuse_http(outcome, send)
            else:
                await _refuse_websocket(outcome, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = outcome
        await self.app(scope, receive, send)

    def _header_value(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name.lower() == self._header:
                return bytes(value).decode("latin-1")
        return None


async def _refuse_http(denial: Denial, send: Send) -> None:
    body = denial.body()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += [(k.lower().encode(), v.encode()) for k, v in denial.headers().items()]
    await send({"type": "http.response.start", "status": denial.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse_websocket(denial: Denial, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": denial.message})
