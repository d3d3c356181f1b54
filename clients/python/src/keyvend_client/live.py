"""Live mode: follow the server's revocation stream and evict the answers it names.

`GET /api/guest/serviceapikey/events` (application token required) sends one message per key
a change touches, `data: {"fingerprint": <hex SHA-256 of the case-folded key> | null,
"change": ...}` (null: every key), and an `event: ready` once the replay asked for with
`Last-Event-ID` is done. `StreamSession` turns those messages into evictions of an
`AnswerCache`; `LiveFollower` (a daemon thread) and `AsyncLiveFollower` (an asyncio task) keep
a connection open, reconnecting with a growing, jittered delay and the last id seen, so that
a reconnect replays what was missed. Only a refused token (401) ends the following: every
other failure is logged and retried.
"""

from __future__ import annotations

import json
import logging
import random
from enum import StrEnum

import httpx

from keyvend_client.answers import AnswerCache
from keyvend_client.errors import RateLimited, ServerUnavailable
from keyvend_client.protocol import result
from keyvend_client.sse import ServerSentEvent, SSEParser

log = logging.getLogger("keyvend_client.live")

FIRST_DELAY = 0.5
MAX_DELAY = 30.0
# The server sends a heartbeat every 15 s: a connection silent for longer than this is dead.
READ_TIMEOUT = 40.0


class LiveState(StrEnum):
    """Where a client's live mode stands (`client.live_state`)."""

    OFF = "off"  # not in live mode
    CONNECTING = "connecting"  # not following yet: short TTLs
    LIVE = "live"  # connected and caught up: valid answers cached for `live_ttl`
    DOWN = "down"  # the stream broke; reconnecting: short TTLs
    UNAUTHORIZED = "unauthorized"  # the token was refused: no longer following, short TTLs
    CLOSED = "closed"  # the client was closed


class Backoff:
    """Delays before reconnecting: `FIRST_DELAY` doubling up to `MAX_DELAY`, each jittered to
    between half and all of it, so that many clients of a restarted server spread out."""

    def __init__(self) -> None:
        self._delay = FIRST_DELAY

    def next(self, at_least: float = 0.0) -> float:
        """The next delay (never below `at_least`, e.g. a 429's Retry-After)."""
        delay = self._delay * random.uniform(0.5, 1.0)
        self._delay = min(self._delay * 2, MAX_DELAY)
        return max(delay, at_least)

    def reset(self) -> None:
        """Start again from `FIRST_DELAY` (after a connection that got live)."""
        self._delay = FIRST_DELAY


class StreamSession:
    """What both followers share: the request's headers, the answer's check, the messages."""

    def __init__(self, answers: AnswerCache, headers: dict[str, str]) -> None:
        self.answers = answers
        self.state = LiveState.CONNECTING
        self.last_id: str | None = None
        self.reached_live = False  # in the current connection
        self._headers = headers
        self._failing = False

    def request_headers(self) -> dict[str, str]:
        """The token, and `Last-Event-ID` so that the server replays what was missed."""
        headers = {**self._headers, "Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_id:
            headers["Last-Event-ID"] = self.last_id
        return headers

    def opened(self, response: httpx.Response) -> SSEParser:
        """A parser for `response` if it is the stream; raise what it stands for otherwise
        (call `response.read()` first: its body is needed then)."""
        if not is_stream(response):
            result(response)  # raises Unauthorized, RateLimited, ServerUnavailable, ApiError
            raise ServerUnavailable(f"Keyvend answered HTTP {response.status_code}, no stream")
        self.reached_live = False
        return SSEParser()

    def handle(self, event: ServerSentEvent) -> None:
        """Evict what a message names; go live on `ready`; remember its id afterwards."""
        if event.event == "ready":
            self.answers.set_live(True)
            self.state = LiveState.LIVE
            self.reached_live = True
            if self._failing:
                log.info("keyvend revocation stream is live again")
            self._failing = False
        elif event.event == "message":
            self.answers.evict(_fingerprint(event.data))
        if event.id is not None:
            self.last_id = event.id
            if event.id.isdigit():
                self.answers.saw(int(event.id))

    def broke(self, error: BaseException | None) -> float:
        """Fall back to the short TTL after a connection ended; the least wait before the
        next one (a 429's Retry-After)."""
        self.answers.set_live(False)
        self.state = LiveState.DOWN
        if not self._failing:
            reason = "the server ended it" if error is None else _describe(error)
            log.warning("keyvend revocation stream lost (%s); reconnecting", reason)
        else:
            log.debug("keyvend revocation stream still down: %s", _describe(error))
        self._failing = True
        return float(error.retry_after) if isinstance(error, RateLimited) else 0.0

    def refused(self) -> None:
        """The token was refused: stop following for good, keep the short TTL."""
        self.answers.set_live(False)
        self.state = LiveState.UNAUTHORIZED
        log.error(
            "keyvend refused the application token on the revocation stream: live mode is "
            "off for this client (answers are cached for cache_ttl only)"
        )

    def forked(self) -> None:
        """In a forked child: nothing the parent cached or heard is known to be current."""
        self.answers.set_live(False)
        self.answers.forget()
        self.state = LiveState.CONNECTING
        self.last_id = None
        self._failing = False

    def closed(self) -> None:
        """The client was closed."""
        self.answers.set_live(False)
        self.state = LiveState.CLOSED


def check_live(live: bool, headers: dict[str, str], live_ttl: float) -> float | None:
    """The `live_ttl` the answer cache uses (None: not live); `ValueError` for a live mode
    without an application token (the stream is for applications only)."""
    if not live:
        return None
    if not headers:
        raise ValueError("live=True needs an app_token: the revocation stream requires one")
    if live_ttl < 0:
        raise ValueError("live_ttl must be >= 0")
    return live_ttl


def is_stream(response: httpx.Response) -> bool:
    """Whether `response` is an open event stream."""
    content_type = response.headers.get("content-type", "")
    return response.status_code == 200 and content_type.startswith("text/event-stream")


def _fingerprint(data: str) -> str | None:
    """The fingerprint a message names; None (every key) for null or for anything this
    library cannot read, since dropping too much only costs a request."""
    try:
        found = json.loads(data).get("fingerprint")
    except (ValueError, AttributeError):
        log.warning("keyvend revocation stream sent an unreadable message; evicting all")
        return None
    return found if isinstance(found, str) else None


def _describe(error: BaseException | None) -> str:
    return "closed by the server" if error is None else f"{type(error).__name__}: {error}"
