"""What to answer when the server cannot: fail closed, or serve the last known answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FailClosed:
    """Raise the error (`ServerUnavailable`, `RateLimited`): no answer means no access."""

    @property
    def stale_seconds(self) -> float:
        """How long past its expiry an answer may still be served (never)."""
        return 0.0


@dataclass(frozen=True, slots=True)
class ServeStale:
    """Serve the last known answer for up to `seconds` after it expired, then fail closed.

    A key revoked on the server can thus keep working for `cache_ttl + seconds` while the
    server is unreachable or rate limiting this application: choose `seconds` with that in mind.
    """

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError("ServeStale.seconds must be >= 0")

    @property
    def stale_seconds(self) -> float:
        """How long past its expiry an answer may still be served."""
        return self.seconds


FailurePolicy = FailClosed | ServeStale
FAIL_CLOSED = FailClosed()
