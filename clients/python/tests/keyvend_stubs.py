"""Stand-ins for a client, for the web integration tests: fixed answers, calls recorded."""

from __future__ import annotations

from types import MappingProxyType

from keyvend_client import KeyInfo, KeyNotFound, RateLimited, ServerUnavailable

GOOD = "GOOD-KEY"
DISABLED = "DISABLED-KEY"
LIMITED = "LIMITED-KEY"
DOWN = "DOWN-KEY"


class StubChecker:
    """Answers like a client would for a handful of known keys."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_info(self, key: str) -> KeyInfo:
        self.asked.append(key)
        if key == GOOD:
            return KeyInfo(valid=True, params=MappingProxyType({"monthlyLimit": 250}))
        if key == DISABLED:
            return KeyInfo(valid=False)
        if key == LIMITED:
            raise RateLimited(retry_after=7)
        if key == DOWN:
            raise ServerUnavailable("down")
        raise KeyNotFound()


class AsyncStubChecker:
    """`StubChecker` behind an awaitable `get_info`."""

    def __init__(self) -> None:
        self.sync = StubChecker()

    async def get_info(self, key: str) -> KeyInfo:
        return self.sync.get_info(key)
