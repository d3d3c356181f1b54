"""What both clients share: cached answers, their TTLs, the failure policy and 429 back-off."""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
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

    In live mode (`live_ttl` given) a follower of the revocation stream evicts answers by key
    fingerprint and says when it is `live`. A valid answer is then trusted for `live_ttl` if
    it was asked for and stored while the stream was live with no eviction in between (else
    an eviction could have raced past it); while the stream is not live, every answer is
    fresh only as long as `cache_ttl` allows, whatever it was stored for.
    """

    def __init__(
        self,
        *,
        cache_ttl: float,
        negative_ttl: float,
        max_entries: int,
        on_unavailable: FailurePolicy,
        clock: Clock,
        live_ttl: float | None = None,
    ) -> None:
        if cache_ttl < 0 or negative_ttl < 0 or (live_ttl is not None and live_ttl < 0):
            raise ValueError("cache_ttl, negative_ttl and live_ttl must be >= 0")
        self._ttl = cache_ttl
        self._live_ttl = live_ttl
        self._live = False
        self._epoch = 0  # moves on every eviction and every change of `live`
        self._seen = 0  # the newest event seq heard on the stream
        self._evicting = threading.Lock()  # an eviction never falls between check and store
        self._negative_ttl = negative_ttl
        self._keep_for = on_unavailable.stale_seconds
        self._clock = clock
        self._cache: TTLCache[Answer] = TTLCache(max_entries=max_entries, clock=clock)
        self._blocked_until = -math.inf

    def __len__(self) -> int:
        return len(self._cache)

    def fresh(self, key: str) -> Answer | Literal[Missing.MISS]:
        """The cached answer for `key` if it is still fresh, else `MISS`."""
        return self._cache.fresh(key, max_age=self._max_age())

    @property
    def epoch(self) -> int:
        """Taken before asking the server; `settle` trusts the answer only if it is unchanged."""
        return self._epoch

    @property
    def live(self) -> bool:
        """Whether the revocation stream is followed right now (live mode only)."""
        return self._live

    def set_live(self, live: bool) -> None:
        """Say whether every change is heard from now on (the stream sent `ready`) or not."""
        with self._evicting:
            if live != self._live:
                self._live = live
                self._epoch += 1

    def saw(self, seq: int) -> None:
        """The stream has reached event `seq`."""
        self._seen = max(self._seen, seq)

    def evict(self, fingerprint: str | None) -> None:
        """Drop the answers for the key of `fingerprint` (None: every answer)."""
        with self._evicting:
            self._epoch += 1
            if fingerprint is None:
                self._cache.clear()
            else:
                self._cache.discard_tag(fingerprint)

    def check_backoff(self) -> None:
        """Raise `RateLimited` while the server's last `Retry-After` has not passed."""
        remaining = self._blocked_until - self._clock()
        if remaining > 0:
            raise RateLimited(math.ceil(remaining))

    def settle(self, key: str, response: httpx.Response, *, epoch: int = 0) -> Answer:
        """Decode the server's response, remember the answer (or the back-off) and return it.

        `epoch` is `self.epoch` as it was before the request was sent.
        """
        with self._backing_off():
            answer = decode(response)
        positive = answer is not None and answer.valid
        if self._live_ttl is None:
            ttl = self._ttl if positive else self._negative_ttl
            self._cache.put(key, answer, ttl=ttl, keep_for=self._keep_for)
            return answer
        with self._evicting:
            if _behind(response, self._seen):
                # Served by a worker that has not yet heard of a change this client has:
                # its answer may predate the change, so it is not kept at all.
                return answer
            trusted = self._live and epoch == self._epoch
            ttl = (self._live_ttl if trusted else self._ttl) if positive else self._negative_ttl
            tag = fingerprint(key)
            self._cache.put(key, answer, ttl=ttl, keep_for=self._keep_for, tag=tag)
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
            answer = self._cache.stale(key, max_age=self._max_age())
            if answer is not MISS:
                return answer
        raise error

    def forget(self, key: str | None = None) -> None:
        """Drop the cached answer for `key`, or every answer."""
        if key is None:
            self._cache.clear()
        else:
            self._cache.discard(key)

    def _max_age(self) -> float | None:
        """No answer outlives the short TTL while live mode cannot hear changes."""
        return None if self._live or self._live_ttl is None else self._ttl


SEQ_HEADER = "x-keyvend-seq"  # the newest event the answering server process has heard of


def _behind(response: httpx.Response, seen: int) -> bool:
    served = response.headers.get(SEQ_HEADER, "")
    return served.isdigit() and int(served) < seen


def fingerprint(key: str) -> str:
    """How the revocation stream names a key: the lower-case hex SHA-256 of the case-folded
    key (surrounding blanks dropped), never the key itself."""
    return hashlib.sha256(key.strip().lower().encode()).hexdigest()


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
