"""`GET /api/guest/serviceapikey/events`: the revocation stream (DESIGN.md section 12).

Server-Sent Events for applications (their token required): one message per key a change
touches, `id: <seq>` and `data: {"fingerprint": <SHA-256 of the case-folded key, or null
for every key>, "change": <event type>}`, never the key. A client that reconnects with
`Last-Event-ID` first gets every change it missed (events are kept), then the live ones; a
`ready` event (its id the newest seq) says the replay is done; a comment every
`KEYVEND_STREAM_HEARTBEAT` seconds (15) keeps idle connections open through proxies. This
process's feed (`services.key_feed`) is the source, the same one that keeps its key cache
correct.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response

from keyvend.api import applications
from keyvend.api.applications import bearer_token
from keyvend.api.envelope import error_response
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import InvalidInput
from keyvend.domain.event_types import ALL_KEYS
from keyvend.edge.off_loop import in_thread
from keyvend.edge.ratelimit import Verdict
from keyvend.services.key_feed import BATCH, KeyChange, KeyFeed, changes_after

PATH = "/api/guest/serviceapikey/events"


async def key_events(request: Request) -> Response:
    """The revocation stream of key changes (SSE; an application token is required)."""
    db: Database = request.app.state.db
    try:
        await in_thread(db, lambda: _application(request, db))
        after = _last_event_id(request)
    except Exception as exc:
        return error_response(exc)
    feed: KeyFeed = request.app.state.key_feed
    return EventSourceResponse(
        _messages(db, feed, after),
        ping=request.app.state.settings.stream_heartbeat,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _application(request: Request, db: Database) -> int:
    token = bearer_token(request.headers.get("authorization"))
    return applications.identify(request.scope, db, token, verdict=Verdict())


def _last_event_id(request: Request) -> int | None:
    sent = request.headers.get("last-event-id", "").strip()
    if not sent:
        return None
    if not sent.isdigit() or len(sent) > 18:
        raise InvalidInput("Last-Event-ID must be the id of an event of this stream")
    return int(sent)


async def _messages(db: Database, feed: KeyFeed, after: int | None) -> AsyncIterator[Any]:
    """Replay after `after`, then `ready`, then the live changes until the feed ends."""
    queue = feed.subscribe()
    newest = feed.last_seq
    replayed: set[int] = set()
    try:
        if after is not None:
            async for missed in _replay(db, after):
                replayed.add(missed.seq)
                newest = max(newest, missed.seq)
                for message in _encoded(missed):
                    yield message
        yield {"event": "ready", "id": str(max(newest, after or 0)), "data": "{}"}
        while (change := await queue.get()) is not None:
            if change.seq not in replayed:
                for message in _encoded(change):
                    yield message
    finally:
        feed.unsubscribe(queue)


async def _replay(db: Database, after: int) -> AsyncIterator[KeyChange]:
    while True:
        changes = await in_thread(db, functools.partial(changes_after, db, after))
        for change in changes:
            yield change
        if len(changes) < BATCH:
            return
        after = changes[-1].seq


def _encoded(change: KeyChange) -> list[dict[str, str]]:
    return [
        {
            "id": str(change.seq),
            "data": json.dumps(
                {"fingerprint": None if fp == ALL_KEYS else fp, "change": change.type},
                separators=(",", ":"),
            ),
        }
        for fp in change.fingerprints
    ]
