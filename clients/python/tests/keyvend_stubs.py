"""Stand-ins for a client, for the web integration tests: fixed answers, calls recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

from keyvend_client import (
    KeyInfo,
    KeyNotFound,
    Quota,
    RateLimited,
    ServerUnavailable,
    Unauthorized,
    Verification,
    VerifyCode,
)

GOOD = "GOOD-KEY"
DISABLED = "DISABLED-KEY"
LIMITED = "LIMITED-KEY"
DOWN = "DOWN-KEY"
SPENT = "SPENT-KEY"  # verify: its quota is used up
HURRIED = "HURRIED-KEY"  # verify: its own rate limit is reached
FOREVER_SPENT = "FOREVER-SPENT-KEY"  # verify: its `total` quota is used up
WRONG_TOKEN = "WRONG-TOKEN-KEY"  # the application's token is refused
RESET_AT = datetime(2027, 1, 1, tzinfo=UTC)
PARAMS = MappingProxyType({"monthlyLimit": 250})


class StubChecker:
    """Answers like a client would for a handful of known keys."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.costs: list[int] = []

    def get_info(self, key: str) -> KeyInfo:
        self.asked.append(key)
        if key == GOOD:
            return KeyInfo(valid=True, params=PARAMS)
        if key == DISABLED:
            return KeyInfo(valid=False)
        self._fail(key)
        raise KeyNotFound()

    def verify(self, key: str, cost: int = 1) -> Verification:
        self.asked.append(key)
        self.costs.append(cost)
        verified = {
            GOOD: Verification(
                True, VerifyCode.VALID, PARAMS, None, Quota(10, 10 - cost, RESET_AT)
            ),
            DISABLED: Verification(False, VerifyCode.DISABLED, PARAMS),
            SPENT: Verification(
                False, VerifyCode.USAGE_EXCEEDED, PARAMS, None, Quota(3, 0, RESET_AT)
            ),
            FOREVER_SPENT: Verification(
                False, VerifyCode.USAGE_EXCEEDED, {}, None, Quota(3, 0, None)
            ),
            HURRIED: Verification(False, VerifyCode.RATE_LIMITED, PARAMS),
        }.get(key)
        if verified is not None:
            return verified
        self._fail(key)
        return Verification(False, VerifyCode.NOT_FOUND)

    def _fail(self, key: str) -> None:
        if key == LIMITED:
            raise RateLimited(retry_after=7)
        if key == DOWN:
            raise ServerUnavailable("down")
        if key == WRONG_TOKEN:
            raise Unauthorized()


class AsyncStubChecker:
    """`StubChecker` behind an awaitable `get_info` and `verify`."""

    def __init__(self) -> None:
        self.sync = StubChecker()

    async def get_info(self, key: str) -> KeyInfo:
        return self.sync.get_info(key)

    async def verify(self, key: str, cost: int = 1) -> Verification:
        return self.sync.verify(key, cost)
