"""`AsyncKeyvendClient`: check keys from asyncio code, with a local cache."""

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
from keyvend_client.followers import AsyncLiveFollower, stream_timeout
from keyvend_client.live import LiveState, StreamSession, check_live
from keyvend_client.models import NOT_FOUND, Answer, KeyInfo, Verification
from keyvend_client.policy import FAIL_CLOSED, FailurePolicy
from keyvend_client.protocol import events_url, info_url, transport_errors, verify_url
from keyvend_client.singleflight import AsyncSingleFlight


class AsyncKeyvendClient:
    """The asyncio twin of `KeyvendClient` (same cache, policy and errors); use one event loop.

    Concurrent checks of one key share a single request; a cancelled caller does not cancel it.
    `verify` always asks the server; `app_token` works as for `KeyvendClient`. With
    `live=True` the revocation stream is followed by a task of the event loop, started by the
    first use (or `async with`) and cancelled by `aclose()`.
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
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._base_url = base_url
        self._url = info_url(base_url)
        self._verify_url = verify_url(base_url)
        self._headers = bearer(app_token)  # only ever sent, never shown (see __repr__)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._answers = AnswerCache(
            cache_ttl=cache_ttl,
            negative_ttl=negative_ttl,
            max_entries=max_entries,
            on_unavailable=on_unavailable,
            clock=clock,
            live_ttl=check_live(live, self._headers, live_ttl),
        )
        self._live: AsyncLiveFollower | None = None
        if live:
            session = StreamSession(self._answers, self._headers)
            self._live = AsyncLiveFollower(events_url(base_url), session, stream_timeout(timeout))
        self._flight: AsyncSingleFlight[Answer] = AsyncSingleFlight()

    async def check(self, key: str) -> bool:
        """Whether `key` is valid; `KeyNotFound` if the server does not know it."""
        return (await self.get_info(key)).valid

    async def get_info(self, key: str) -> KeyInfo:
        """Validity and custom parameters of `key`; `KeyNotFound` if the server does not know it."""
        if self._live is not None:
            self._live.ensure()
        answer = self._answers.fresh(key)
        if answer is MISS:
            if can_exist(key):
                answer = await self._flight.run(key, partial(self._lookup, key))
            else:
                answer = None
        return unwrap(answer)

    async def verify(self, key: str, cost: int = 1) -> Verification:
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
            response = await self._http.post(
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

    async def aclose(self) -> None:
        """Stop following the stream; close the HTTP connections (unless the `http_client`
        was passed in)."""
        if self._live is not None:
            await self._live.stop()
        if self._owns_http:
            await self._http.aclose()

    def __repr__(self) -> str:
        return f"AsyncKeyvendClient({self._base_url!r}, app_token={masked(self._headers)})"

    async def __aenter__(self) -> AsyncKeyvendClient:
        if self._live is not None:
            self._live.ensure()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _lookup(self, key: str) -> Answer:
        answer = self._answers.fresh(key)  # a flight that just ended may have stored it
        if answer is not MISS:
            return answer
        epoch = self._answers.epoch  # an eviction during the request makes the answer suspect
        try:
            self._answers.check_backoff()
            with transport_errors():
                response = await self._http.post(
                    self._url, json={"key": key}, headers=self._headers
                )
            return self._answers.settle(key, response, epoch=epoch)
        except (RateLimited, ServerUnavailable) as error:
            return self._answers.fallback(key, error)
