"""What both clients share: cached answers, their TTLs, the failure policy and 429 back-off."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Literal

import httpx

from keyvend_client.cache import MISS, Clock, Missing, TTLCache
from keyvend_client.errors import KeyNotFound, RateLimited, ServerUnavailable
from keyvend_client.models import Answer, KeyInfo, Verification
from keyvend_client.policy import FailurePolicy
from keyvend_client.protocol import MAX_KEY_LENGTH, decode, decode_verification


class AnswerCache:
    """The client's memory of the server's answers; does no I/O itself.

    Valid keys are cached for `cache_ttl` seconds, invalid and unknown keys for `negative_ttl`
    (so that a key re-enabled on the server works again soon). After a 429 the server is not
    asked again before its `Retry-After` has passed.
    """

    def __init__(
        self,
        *,
        cache_ttl: float,
        negative_ttl: float,
        max_entries: int,
        on_unavailable: FailurePolicy,
        clock: Clock,
    ) -> None:
        if cache_ttl < 0 or negative_ttl < 0:
            raise ValueError("cache_ttl and negative_ttl must be >= 0")
        self._ttl = cache_ttl
        self._negative_ttl = negative_ttl
        self._keep_for = on_unavailable.stale_seconds
        self._clock = clock
        self._cache: TTLCache[Answer] = TTLCache(max_entries=max_entries, clock=clock)
        self._blocked_until = -math.inf

    def __len__(self) -> int:
        return len(self._cache)

    def fresh(self, key: str) -> Answer | Literal[Missing.MISS]:
        """The cached answer for `key` if it is still fresh, else `MISS`."""
        return self._cache.fresh(key)

    def check_backoff(self) -> None:
        """Raise `RateLimited` while the server's last `Retry-After` has not passed."""
        remaining = self._blocked_until - self._clock()
        if remaining > 0:
            raise RateLimited(math.ceil(remaining))

    def settle(self, key: str, response: httpx.Response) -> Answer:
        """Decode the server's response, remember the answer (or the back-off) and return it."""
        with self._backing_off():
            answer = decode(response)
        positive = answer is not None and answer.valid
        ttl = self._ttl if positive else self._negative_ttl
        self._cache.put(key, answer, ttl=ttl, keep_for=self._keep_for)
        return answer

    def settle_verification(self, response: httpx.Response) -> Verification:
        """Decode a `verify` response; only a back-off is remembered, never the answer."""
        with self._backing_off():
            return decode_verification(response)

    @contextlib.contextmanager
    def _backing_off(self) -> Iterator[None]:
        """Remember a 429's `Retry-After`: every call of the client waits for it."""
        try:
            yield
        except RateLimited as error:
            self._blocked_until = max(self._blocked_until, self._clock() + error.retry_after)
            raise

    def fallback(self, key: str, error: RateLimited | ServerUnavailable) -> Answer:
        """The last known answer when the policy allows serving it, else raise `error`."""
        if self._keep_for > 0:
            answer = self._cache.stale(key)
            if answer is not MISS:
                return answer
        raise error

    def forget(self, key: str | None = None) -> None:
        """Drop the cached answer for `key`, or every answer."""
        if key is None:
            self._cache.clear()
        else:
            self._cache.discard(key)


def can_exist(key: str) -> bool:
    """False for keys too long to exist; `ValueError` for an empty or non-string key."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError("key must be a non-empty string")
    return len(key) <= MAX_KEY_LENGTH


def check_cost(cost: int) -> None:
    """`ValueError` unless `cost` is a whole number >= 0."""
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
        raise ValueError("cost must be a whole number >= 0")


def bearer(app_token: str | None) -> dict[str, str]:
    """The headers that identify the application; `ValueError` for an unusable token."""
    if app_token is None:
        return {}
    if not isinstance(app_token, str) or not app_token.strip() or not app_token.isprintable():
        raise ValueError("app_token must be a non-empty printable string")  # never echo it
    return {"Authorization": f"Bearer {app_token.strip()}"}


def masked(headers: dict[str, str]) -> str:
    """How a client shows its token in `repr`: whether there is one, never what it is."""
    return "'***'" if headers else "None"


def unwrap(answer: Answer) -> KeyInfo:
    """The key's info, or `KeyNotFound` for a key the server does not know."""
    if answer is None:
        raise KeyNotFound()
    return answer
