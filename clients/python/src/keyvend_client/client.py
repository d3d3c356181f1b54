"""`KeyvendClient`: check keys from threaded (sync) code, with a local cache."""

from __future__ import annotations

import time
from functools import partial
from types import TracebackType

import httpx

from keyvend_client.answers import (
    AnswerCache,
    bearer,
    can_exist,
    check_cost,
    masked,
    unwrap,
)
from keyvend_client.cache import MISS, Clock
from keyvend_client.errors import RateLimited, ServerUnavailable
from keyvend_client.followers import LiveFollower, stream_timeout
from keyvend_client.live import LiveState, StreamSession, check_live
from keyvend_client.models import NOT_FOUND, Answer, KeyInfo, Verification
from keyvend_client.policy import FAIL_CLOSED, FailurePolicy
from keyvend_client.protocol import events_url, info_url, transport_errors, verify_url
from keyvend_client.singleflight import SingleFlight


class KeyvendClient:
    """Checks API keys against a Keyvend (or FOSSBilling) server; safe to share between threads.

    Answers are cached (valid keys `cache_ttl` seconds, invalid or unknown ones `negative_ttl`,
    at most `max_entries` keys, least recently used evicted first), and concurrent checks of one
    key make a single request. `on_unavailable` decides what happens when the server cannot
    answer: `FailClosed()` (the default) raises, `ServeStale(seconds)` serves the last answer.
    `verify` (quota spending) always asks the server.

    With `app_token` (from `admin/application/create`) every call sends `Authorization: Bearer
    <app_token>`: the server counts it against the application, never against this host's
    guest budgets, so bad keys sent by others cannot get it throttled.

    With `live=True` (needs `app_token`) the client follows the server's revocation stream on
    a daemon thread, started by the first `check` / `get_info` / `verify` (and again in a
    forked child), and drops the answers of every key a change touches: valid answers are
    then cached for `live_ttl` seconds while the stream is live, and for `cache_ttl` while it
    is down (see `live_state`). `close()` stops the thread.
    """

    def __init__(
        self,
        base_url: str,
        *,
        app_token: str | None = None,
        live: bool = False,
        live_ttl: float = 3600.0,
        timeout: float | httpx.Timeout = 5.0,
        cache_ttl: float = 30.0,
        negative_ttl: float = 5.0,
        max_entries: int = 10_000,
        on_unavailable: FailurePolicy = FAIL_CLOSED,
        clock: Clock = time.monotonic,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._base_url = base_url
        self._url = info_url(base_url)
        self._verify_url = verify_url(base_url)
        self._headers = bearer(app_token)  # only ever sent, never shown (see __repr__)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self._answers = AnswerCache(
            cache_ttl=cache_ttl,
            negative_ttl=negative_ttl,
            max_entries=max_entries,
            on_unavailable=on_unavailable,
            clock=clock,
            live_ttl=check_live(live, self._headers, live_ttl),
        )
        self._live: LiveFollower | None = None
        if live:
            session = StreamSession(self._answers, self._headers)
            self._live = LiveFollower(events_url(base_url), session, stream_timeout(timeout))
        self._flight: SingleFlight[Answer] = SingleFlight()

    def check(self, key: str) -> bool:
        """Whether `key` is valid; `KeyNotFound` if the server does not know it."""
        return self.get_info(key).valid

    def get_info(self, key: str) -> KeyInfo:
        """Validity and custom parameters of `key`; `KeyNotFound` if the server does not know it."""
        if self._live is not None:
            self._live.ensure()
        answer = self._answers.fresh(key)
        if answer is MISS:
            answer = self._flight.run(key, partial(self._lookup, key)) if can_exist(key) else None
        return unwrap(answer)

    def verify(self, key: str, cost: int = 1) -> Verification:
        """The key's state, and spend `cost` of its quota (0: only look); never cached.

        Always a `Verification` for any key (`code` NOT_FOUND for an unknown one). A key that
        is refused (`USAGE_EXCEEDED`, `RATE_LIMITED`, ...) spends nothing.
        """
        check_cost(cost)
        if self._live is not None:
            self._live.ensure()
        if not can_exist(key):
            return NOT_FOUND
        self._answers.check_backoff()
        with transport_errors():
            response = self._http.post(
                self._verify_url, json={"key": key, "cost": cost}, headers=self._headers
            )
        return self._answers.settle_verification(response)

    def invalidate(self, key: str | None = None) -> None:
        """Forget the cached answer for `key` (or all answers): the next check asks the server."""
        self._answers.forget(key)

    @property
    def live_state(self) -> LiveState:
        """Where live mode stands: `off`, `connecting`, `live`, `down`, `unauthorized`,
        `closed` (valid answers are cached for `live_ttl` only while `live`)."""
        return LiveState.OFF if self._live is None else self._live.session.state

    def close(self) -> None:
        """Stop following the stream; close the HTTP connections (unless the `http_client`
        was passed in)."""
        if self._live is not None:
            self._live.stop()
        if self._owns_http:
            self._http.close()

    def __repr__(self) -> str:
        return f"KeyvendClient({self._base_url!r}, app_token={masked(self._headers)})"

    def __enter__(self) -> KeyvendClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _lookup(self, key: str) -> Answer:
        answer = self._answers.fresh(key)  # a flight that just ended may have stored it
        if answer is not MISS:
            return answer
        epoch = self._answers.epoch  # an eviction during the request makes the answer suspect
        try:
            self._answers.check_backoff()
            with transport_errors():
                response = self._http.post(self._url, json={"key": key}, headers=self._headers)
            return self._answers.settle(key, response, epoch=epoch)
        except (RateLimited, ServerUnavailable) as error:
            return self._answers.fallback(key, error)
