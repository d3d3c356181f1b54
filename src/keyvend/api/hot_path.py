"""The fast lane for the key check: plain ASGI in front of the router.

`guest/serviceapikey/check`, `get_info` and `verify` are what every customer application
calls, often on every request it serves. The common shape of that call (JSON body or query
string, no credentials or an application token) is answered here without building Starlette
request and response objects, with the same rate limiting, services and error envelope as
every other call. Anything unusual (form bodies, Basic credentials, CSRF headers, a key that
is not a string, a large body) is handed to the general dispatcher untouched, so both paths
give the same answers. Behind a trusted proxy the check stays here: the proxy layer outside
has already put the forwarded client in the scope, and both lanes count that client with the
same `guard` (or `as_application`) and the registry's policies.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyvend.api.applications import as_application
from keyvend.api.endpoints.fields import MAX_KEY_PARAM
from keyvend.api.envelope import error_response
from keyvend.api.params import nest
from keyvend.api.registry import ENDPOINTS
from keyvend.db.unit_of_work import Database
from keyvend.domain.quota import MAX_COST
from keyvend.edge.off_loop import key_read
from keyvend.edge.ratelimit import Verdict, guard
from keyvend.observability.metrics import (
    NOT_FOUND,
    check_outcome,
    failure_outcome,
    record_check,
)
from keyvend.services import serviceapikey, verification

CHECK = "/api/guest/serviceapikey/check"
GET_INFO = "/api/guest/serviceapikey/get_info"
VERIFY = "/api/guest/serviceapikey/verify"
CALLS = {
    CHECK: ("guest", "serviceapikey", "check"),
    GET_INFO: ("guest", "serviceapikey", "get_info"),
    VERIFY: ("guest", "serviceapikey", "verify"),
}
MAX_FAST_BODY = 4096
_TRUE = b'{"result":true,"error":null}'
_FALSE = b'{"result":false,"error":null}'
_BEARER = b"bearer "
SEQ_HEADER = b"x-keyvend-seq"


class Answer(NamedTuple):
    body: bytes
    valid: bool
    missed: bool = False  # a verify of a key that does not exist (counts as a miss)


def _missed(answer: Answer) -> bool:
    return answer.missed


class HotPath:
    """ASGI middleware answering the common key checks; everything else goes to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.policies = {path: ENDPOINTS[call].policies for path, call in CALLS.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        token = _usual(scope) if path in CALLS and scope["method"] in ("GET", "POST") else False
        if token is False:
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive) if scope["method"] == "POST" else (b"", True)
        params = _params(scope, body) if complete and len(body) <= MAX_FAST_BODY else None
        if params is None:  # not the common shape: let the general dispatcher decide
            await self.app(scope, _replay(body, None if complete else receive), send)
            return
        await self._answer(scope, send, str(path), params, token)

    async def _answer(
        self, scope: Scope, send: Send, path: str, params: dict[str, Any], token: str | None
    ) -> None:
        db: Database = scope["app"].state.db
        verdict = Verdict()
        policies = self.policies[path]
        key = params.get("key") or ""
        cost = params.get("cost", 1)
        started = time.perf_counter()

        def answer() -> Answer:
            if token is not None:
                run = lambda: _body(db, path, key, cost)  # noqa: E731
                return as_application(scope, db, token, run, verdict=verdict, missed=_missed)
            return guard(
                scope,
                lambda: _body(db, path, key, cost),
                policies=policies,
                verdict=verdict,
                missed=_missed,
            )

        try:
            cached = db.reads_block and _cached(db, key)
            body, valid, missed = await key_read(db, answer, metered=path == VERIFY, cached=cached)
        except Exception as exc:
            record_check(failure_outcome(exc), time.perf_counter() - started)
            response = error_response(exc)
            response.headers.update(verdict.headers())
            await response(scope, _replay(b"", None), send)
            return
        outcome = NOT_FOUND if missed else check_outcome(valid)
        record_check(outcome, time.perf_counter() - started)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"cache-control", b"no-store"),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in verdict.headers().items()]
        if db.key_cache.live:
            # Which changes this answer reflects: a live client keeps it only if it is not
            # behind the changes the client has already heard of on the stream.
            feed = scope["app"].state.key_feed
            headers.append((SEQ_HEADER, b"%d" % feed.last_seq))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _body(db: Database, path: str, key: str, cost: int) -> Answer:
    """The answer's bytes, and whether the key was valid (for the metrics)."""
    if path == CHECK:
        valid = serviceapikey.check(db, key)
        return Answer(_TRUE if valid else _FALSE, valid)
    if path == VERIFY:
        found = verification.verify(db, key, cost=cost)
        body = _compact({"result": found.to_api(), "error": None})
        return Answer(body.encode(), found.valid, found.missed)
    info = serviceapikey.get_info(db, key)
    return Answer(_compact({"result": info, "error": None}).encode(), bool(info["valid"]))


# One encoder for every answer, compact like the rest of the API (json.dumps with
# arguments builds an encoder per call).
_compact = json.JSONEncoder(separators=(",", ":")).encode


def _cached(db: Database, key: str) -> bool:
    """Whether this process's key cache holds the key (then no database round trip)."""
    return bool(key) and db.key_cache.get(db.vault.key_digest(key)) is not None


def _usual(scope: Scope) -> str | Literal[False] | None:
    """The application token of a call of the common shape (None: no token); False for a
    call the dispatcher must answer (Basic credentials, CSRF header, a form body)."""
    token: str | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[:7].lower() != _BEARER:
                return False
            token = value[7:].decode("latin-1").strip()
        elif name == b"x-csrf-token" or (
            name == b"content-type" and not value.startswith(b"application/json")
        ):
            return False
    return token


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The body, and whether it is complete (a large one is left for the dispatcher)."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_FAST_BODY:
            return b"".join(chunks), False


def _params(scope: Scope, body: bytes) -> dict[str, Any] | None:
    query = scope.get("query_string", b"")
    params: dict[str, Any] = {}
    try:
        if query:
            params = nest(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
        if body.strip():
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                return None
            params.update(decoded)
    except Exception:  # malformed: the dispatcher gives the proper 701 answer
        return None
    key = params.get("key")
    if key is not None and not isinstance(key, str):
        return None
    cost = params.get("cost", 1)
    if type(cost) is not int or not 0 <= cost <= MAX_COST:
        return None  # a string from the query, or out of range: the dispatcher decides
    if isinstance(key, str) and (
        len(key) > MAX_KEY_PARAM or "\x00" in key or not key.isprintable()
    ):
        return None  # the dispatcher's validation words these refusals
    return params


def _replay(body: bytes, rest: Receive | None) -> Receive:
    """A receive channel that first gives back what was read, then the rest (if any)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": rest is not None}
        if rest is not None:
            return await rest()
        return {"type": "http.disconnect"}

    return receive
