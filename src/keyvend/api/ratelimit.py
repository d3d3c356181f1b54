"""Rate limiting with the `limits` library: fixed windows aligned to an injectable clock.

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
from starlette.requests import HTTPConnection

from keyvend.config import Settings
from keyvend.domain.errors import NotFound, RateLimited

log = logging.getLogger("keyvend.ratelimit")

T = TypeVar("T")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
REDIS_RETRY_SECONDS = 5.0
LOGIN_CALLS = {("guest", "client", "login"), ("guest", "staff", "login")}
KEY_CHECKS = {("guest", "serviceapikey", "check"), ("guest", "serviceapikey", "get_info")}


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


class Counters:
    """`limits` storage with the Redis-to-memory fallback."""

    def __init__(self, redis_url: str | None) -> None:
        self._memory = MemoryStorage()
        self._redis: Storage | None = None
        if redis_url:
            self._redis = RedisStorage(
                redis_url, wrap_exceptions=True, socket_timeout=0.5, socket_connect_timeout=0.5
            )
        self._redis_down_until = 0.0

    def incr(self, key: str, expiry: int, amount: int) -> int:
        """Add `amount` (0 to read) to `key` and return the new count."""
        storage = self._storage()
        try:
            if amount == 0:
                return storage.get(key)
            return storage.incr(key, expiry, amount=amount)
        except Exception as exc:  # any storage failure: fall back, never fail the call
            if storage is self._memory:
                raise
            self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            log.warning(
                "Redis rate-limit storage unreachable (%s); using memory for %ss",
                type(exc).__name__,
                REDIS_RETRY_SECONDS,
            )
            return self.incr(key, expiry, amount)

    def _storage(self) -> Storage:
        if self._redis is not None and time.monotonic() >= self._redis_down_until:
            return self._redis
        return self._memory


class RateLimiter:
    """The policies of DESIGN.md section 6, applied per client IP and per account."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.enabled = settings.rate_limit_enabled
        self.guest = parse(settings.rate_limit_guest)
        self.guest_miss = parse(settings.rate_limit_guest_miss)
        self.login = parse(settings.rate_limit_login)
        self.authenticated = parse(settings.rate_limit_authenticated)
        self.whitelist = _networks(settings.rate_limit_whitelist)
        self.trusted_proxies = _networks(settings.trusted_proxies)
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

    def hit(self, policy: str, item: RateLimitItem, who: str, verdict: Verdict) -> None:
        """Count one call against `item` for `who`; RateLimited when over budget."""
        self._count(policy, item, who, verdict, cost=1)

    def test(self, policy: str, item: RateLimitItem, who: str, verdict: Verdict) -> None:
        """Refuse if `who` has already used up `item`, without counting this call."""
        self._count(policy, item, who, verdict, cost=0)

    def _count(
        self, policy: str, item: RateLimitItem, who: str, verdict: Verdict, *, cost: int
    ) -> None:
        period = item.get_expiry()
        now = self.clock()
        window = math.floor(now / period)
        reset = max(1, math.ceil((window + 1) * period - now))
        key = f"keyvend:{policy}:{item.amount}/{period}:{who}:{window}"
        used = self.counters.incr(key, period, cost)
        over = used > item.amount if cost else used >= item.amount
        verdict.tighten(item.amount, item.amount - used, reset)
        if over:
            raise RateLimited(reset)

    def before_call(self, ip: str, call: tuple[str, str, str], verdict: Verdict) -> None:
        """Per-IP budgets checked before authentication."""
        if self.exempt(ip):
            return
        if call[0] != "guest":
            self.hit("authenticated", self.authenticated, f"ip:{ip}", verdict)
            return
        self.hit("guest", self.guest, ip, verdict)
        if call in LOGIN_CALLS:
            self.hit("login", self.login, ip, verdict)
        if call in KEY_CHECKS:
            # Once an IP has guessed too many missing keys, refuse all its checks: refusing
            # only misses would tell a guesser which keys exist.
            self.test("guest_miss", self.guest_miss, ip, verdict)

    def after_auth(self, ip: str, account: str, verdict: Verdict) -> None:
        """The per-account budget of client and admin calls."""
        if not self.exempt(ip):
            self.hit("authenticated", self.authenticated, f"account:{account}", verdict)

    def counting_misses(self, ip: str, call: tuple[str, str, str], run: Callable[[], T]) -> T:
        """`run()`; if it is a key check that finds no key, count a miss for `ip`."""
        try:
            return run()
        except NotFound:
            if call in KEY_CHECKS and not self.exempt(ip):
                # This call already has its answer; only the next one is refused.
                with contextlib.suppress(RateLimited):
                    self.hit("guest_miss", self.guest_miss, ip, Verdict())
            raise

    def request_ip(self, request: HTTPConnection) -> str:
        """The caller's IP of a Starlette request (see `client_ip`)."""
        peer = request.client.host if request.client else None
        return self.client_ip(peer, request.headers.get("x-forwarded-for"))

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str:
        """The caller's IP: X-Forwarded-For is believed only from a trusted proxy."""
        ip = peer or "unknown"
        if not forwarded_for or not _within(ip, self.trusted_proxies):
            return ip
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            if not _within(hop, self.trusted_proxies):
                return hop[:64]
        return ip


def _networks(entries: list[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _within(ip: str, networks: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)
