"""Rate limiting with the `limits` library: fixed windows aligned to an injectable clock.

Each endpoint names its policies in the registry (`Endpoint.policies`); `guard` runs one call
under them, the same way for the fast lane, the dispatcher and the pages that count against
the API's budgets. `POLICIES` says how each policy is spent.

Counters live in `limits` storage: memory by default, Redis when KEYVEND_REDIS_URL is set, so
that every worker and host shares one budget. If Redis becomes unreachable the limiter falls
back to per-process memory counters (logged), and tries Redis again after a short pause: the
server keeps answering and never fails a call because of its rate limiter.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from starlette.types import Scope

from keyvend.config import Settings
from keyvend.domain.errors import LoginFailed, NotFound, RateLimited
from keyvend.edge.client_address import client_ip
from keyvend.observability.metrics import record_refusal

log = logging.getLogger("keyvend.ratelimit")

T = TypeVar("T")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Policies = tuple[str, ...]
# Redis answers in well under a millisecond when it is well: a short timeout keeps a hung
# Redis from stalling requests, and the wait before trying it again grows while it stays down.
REDIS_TIMEOUT_SECONDS = 0.1
REDIS_RETRY_SECONDS = 5.0
REDIS_RETRY_MAX_SECONDS = 60.0


@dataclass(frozen=True)
class Policy:
    """How one named budget is spent; every policy counts per client IP."""

    counts_calls: bool = True  # each call counts; False: the budget is only checked
    per_account: bool = False  # also counted per account, once the caller is known
    counts_misses: bool = False  # a key check that finds no key counts, after its answer
    # Only failed logins count, per IP and per account named; a success clears both.
    counts_failures: bool = False


# DESIGN.md section 6; the budgets themselves come from the settings.
POLICIES: dict[str, Policy] = {
    "guest": Policy(),
    # Honest users are never locked out by their own logins: only failures count.
    "login": Policy(counts_calls=False, counts_failures=True),
    "authenticated": Policy(per_account=True),
    # Once an IP has guessed too many missing keys, refuse all its checks: refusing only
    # misses would tell a guesser which keys exist.
    "guest_miss": Policy(counts_calls=False, counts_misses=True),
    # Every reset request and confirmation counts, so nobody floods inboxes with links.
    "password_reset": Policy(),
    # Key checks with an application token: counted per application (the `subject`), never
    # per caller IP, and misses do not count: an application's customers cannot be locked
    # out by whoever sends it bad keys.
    "application": Policy(),
}


@dataclass
class Verdict:
    """The tightest budget seen while handling one request (for the RateLimit-* headers)."""

    limit: int = 0
    remaining: int = 0
    reset: int = 0

    def tighten(self, limit: int, remaining: int, reset: int) -> None:
        if self.limit == 0 or remaining < self.remaining:
            self.limit, self.remaining, self.reset = limit, remaining, reset

    def headers(self) -> dict[str, str]:
        if self.limit == 0:
            return {}
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, self.remaining)),
            "RateLimit-Reset": str(self.reset),
        }


def guard(
    scope: Scope,
    run: Callable[[], T],
    *,
    policies: Policies,
    verdict: Verdict,
    identify: Callable[[], str | None] | None = None,
    login: str | None = None,
    subject: str | None = None,
    missed: Callable[[T], bool] | None = None,
) -> T:
    """`run()` one call under its policies: the per-IP budgets first (per `subject`
    instead, an application, when given), then, once `identify` has named the account
    (raising if the credentials are wrong), the per-account ones; a call that finds no key
    (NotFound, or a result that `missed` says found none) counts as a miss; a failed login
    counts against the IP and the `login` it named, a successful one clears both.
    RateLimited when a budget is spent."""
    limiter: RateLimiter = scope["app"].state.limiter
    ip = client_ip(scope)
    limited = not limiter.exempt(ip)
    if limited:
        limiter.before_call(subject or ip, policies, verdict)
        limiter.before_login(login, policies, verdict)
    account = identify() if identify is not None else None
    if not limited:
        return run()
    if account is not None:
        limiter.after_auth(account, policies, verdict)
    try:
        result = run()
    except NotFound:
        limiter.count_miss(ip, policies, verdict)
        raise
    except LoginFailed:
        limiter.count_failure(ip, login, policies)
        raise
    if missed is not None and missed(result):
        limiter.count_miss(ip, policies, verdict)
    limiter.clear_failures(login, policies)
    return result


class Counters:
    """`limits` storage with the Redis-to-memory fallback."""

    def __init__(
        self, redis_url: str | None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._memory = MemoryStorage()
        self._redis: Storage | None = None
        if redis_url:
            self._redis = RedisStorage(
                redis_url,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        self._monotonic = monotonic
        self._redis_down_until = 0.0
        self._retry_in = REDIS_RETRY_SECONDS

    def incr(self, key: str, expiry: int, amount: int) -> int:
        """Add `amount` (0 to read) to `key` and return the new count."""
        storage = self._storage()
        try:
            used = storage.get(key) if amount == 0 else storage.incr(key, expiry, amount=amount)
        except Exception as exc:  # any storage failure: fall back, never fail the call
            if storage is self._memory:
                raise
            self._redis_down(exc)
            return self.incr(key, expiry, amount)
        if storage is self._redis:
            self._retry_in = REDIS_RETRY_SECONDS
        return used

    def _redis_down(self, exc: Exception) -> None:
        self._redis_down_until = self._monotonic() + self._retry_in
        log.warning(
            "Redis rate-limit storage unreachable (%s); using memory for %ss",
            type(exc).__name__,
            self._retry_in,
        )
        self._retry_in = min(self._retry_in * 2, REDIS_RETRY_MAX_SECONDS)

    def clear(self, key: str) -> None:
        """Forget `key` (a budget starts again); a storage failure is logged, never raised."""
        try:
            self._storage().clear(key)
        except Exception as exc:
            log.warning("could not clear a rate-limit counter (%s)", type(exc).__name__)

    def _storage(self) -> Storage:
        if self._redis is not None and self._monotonic() >= self._redis_down_until:
            return self._redis
        return self._memory


class RateLimiter:
    """The budgets of the settings, counted per client IP and per account (see `guard`)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.enabled = settings.rate_limit_enabled
        self.budgets: dict[str, RateLimitItem] = {
            "guest": parse(settings.rate_limit_guest),
            "guest_miss": parse(settings.rate_limit_guest_miss),
            "login": parse(settings.rate_limit_login),
            "authenticated": parse(settings.rate_limit_authenticated),
            "password_reset": parse(settings.rate_limit_password_reset),
            "application": parse(settings.rate_limit_application),
        }
        self.whitelist = _networks(settings.rate_limit_whitelist)
        self.clock = clock
        self.counters = Counters(settings.redis_url)
        self._exempt: dict[str, bool] = {}

    def exempt(self, ip: str) -> bool:
        """Whitelisted addresses (and a disabled limiter) are never limited."""
        if not self.enabled:
            return True
        known = self._exempt.get(ip)
        if known is None:
            if len(self._exempt) > 10_000:  # bounded: a flood of addresses cannot grow it
                self._exempt.clear()
            known = self._exempt[ip] = _within(ip, self.whitelist)
        return known

    def before_call(self, ip: str, policies: Policies, verdict: Verdict) -> None:
        """The per-IP budgets, checked before authentication."""
        for name in policies:
            policy = POLICIES[name]
            # A per-account budget's per-IP key is marked so it never meets an account's.
            who = f"ip:{ip}" if policy.per_account else ip
            self._count(name, who, verdict, cost=1 if policy.counts_calls else 0)

    def after_auth(self, account: str, policies: Policies, verdict: Verdict) -> None:
        """The per-account budgets of an authenticated caller."""
        for name in policies:
            if POLICIES[name].per_account:
                self._count(name, f"account:{account}", verdict, cost=1)

    def count_bad_token(self, ip: str, verdict: Verdict) -> None:
        """A wrong application token spends one of the IP's `guest` calls, so guessing
        tokens is as limited as any anonymous call; RateLimited once they are spent."""
        if not self.exempt(ip):
            self._count("guest", ip, verdict, cost=1)

    def before_login(self, login: str | None, policies: Policies, verdict: Verdict) -> None:
        """Refuse a login naming an account whose failure budget is spent (from any IP)."""
        if login:
            for name in policies:
                if POLICIES[name].counts_failures:
                    self._count(name, _login_key(login), verdict, cost=0)

    def count_failure(self, ip: str, login: str | None, policies: Policies) -> None:
        """A failed login counts against the IP and the account it named."""
        for name in policies:
            if POLICIES[name].counts_failures:
                for who in (ip, _login_key(login) if login else None):
                    if who is not None:
                        with contextlib.suppress(RateLimited):  # the next try is refused
                            self._count(name, who, Verdict(), cost=1)

    def clear_failures(self, login: str | None, policies: Policies) -> None:
        """A successful login forgives the failures counted against its account. The IP's
        stay until their window ends: otherwise a guesser could wipe them by logging in to
        an account of their own between guesses."""
        if not login:
            return
        for name in policies:
            if POLICIES[name].counts_failures:
                self.counters.clear(self._key(name, _login_key(login), self.clock()))

    def count_miss(self, ip: str, policies: Policies, verdict: Verdict) -> None:
        """A call that found no key: count it where misses count (its answer then shows
        the miss budget, when that is the tighter one it spent)."""
        for name in policies:
            if POLICIES[name].counts_misses:
                # This call already has its answer; only the next one is refused.
                with contextlib.suppress(RateLimited):
                    self._count(name, ip, verdict, cost=1)

    def _count(self, policy: str, who: str, verdict: Verdict, *, cost: int) -> None:
        """Add `cost` calls (0: only look) to `who`'s budget; RateLimited when it is spent."""
        item = self.budgets[policy]
        period = item.get_expiry()
        now = self.clock()
        reset = max(1, math.ceil((math.floor(now / period) + 1) * period - now))
        used = self.counters.incr(self._key(policy, who, now), period, cost)
        over = used > item.amount if cost else used >= item.amount
        if cost or over:
            # A budget this call does not spend (the miss budget, before the call has
            # missed) shows in its headers only when it is the one refusing it.
            verdict.tighten(item.amount, item.amount - used, reset)
        if over:
            record_refusal(policy)
            raise RateLimited(reset)

    def _key(self, policy: str, who: str, now: float) -> str:
        """The counter of `who` under `policy` in the fixed window holding `now`."""
        item = self.budgets[policy]
        period = item.get_expiry()
        window = math.floor(now / period)
        return f"keyvend:{policy}:{item.amount}/{period}:{who}:{window}"


def _login_key(login: str) -> str:
    """The per-account key of a login: the email as the login service reads it."""
    return "login:" + login.strip().lower()[:255]


def _networks(entries: list[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _within(ip: str, networks: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)
