"""Quote of the day: a FastAPI service protected by Keyvend.

Every call needs a Keyvend API key (header `X-API-Key` or query `api_key`). The key's custom
parameter `monthlyLimit` (SEED.md) caps its calls per calendar month; this service counts them
itself. Run it with `KEYVEND_URL=http://127.0.0.1:8080 uvicorn app:app`.
"""

import hashlib
import os
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Response

from keyvend_client import AsyncKeyvendClient, VerifiedKey
from keyvend_client.fastapi import require_api_key

QUOTES = (
    "Simple is better than complex.",
    "Errors should never pass silently.",
    "Now is better than never.",
)


class MonthlyUsage:
    """Calls per key in the current calendar month, in memory (one process; use Redis for more).

    Keys are counted under a digest, so the service never keeps a key itself.
    """

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._now = now
        self._month = ""
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def spend(self, key: str, limit: int | None) -> int | None:
        """Count one call of `key`; the calls left this month (None: no limit).

        Raises HTTP 429 once `limit` calls were made this month; refused calls are not counted.
        """
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            month = self._now().strftime("%Y-%m")
            if month != self._month:  # a new month: everybody starts again
                self._month, self._calls = month, {}
            used = self._calls.get(digest, 0)
            if limit is not None and used >= limit:
                raise HTTPException(429, f"Monthly limit of {limit} calls reached")
            self._calls[digest] = used + 1
        return None if limit is None else limit - used - 1


def monthly_limit(params: Mapping[str, Any]) -> int | None:
    """The key's `monthlyLimit` parameter; None (unlimited) when the product has none."""
    limit = params.get("monthlyLimit")
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise HTTPException(500, "This key's monthlyLimit is not a whole number")
    return limit


def create_app(
    keyvend_url: str,
    *,
    client: AsyncKeyvendClient | None = None,
    usage: MonthlyUsage | None = None,
) -> FastAPI:
    """The service, checking keys against the Keyvend server at `keyvend_url`."""
    keyvend = client or AsyncKeyvendClient(keyvend_url)
    counter = usage or MonthlyUsage()
    api_key = Annotated[VerifiedKey, Depends(require_api_key(keyvend))]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await keyvend.aclose()

    app = FastAPI(title="Quote of the day", lifespan=lifespan)

    @app.get("/quote")
    async def quote(key: api_key, response: Response) -> dict[str, Any]:
        """Today's quote; costs one call of the key's monthly allowance."""
        limit = monthly_limit(key.params)
        left = counter.spend(key.key, limit)
        if limit is not None and left is not None:
            response.headers["X-Monthly-Limit"] = str(limit)
            response.headers["X-Monthly-Remaining"] = str(left)
        return {"quote": QUOTES[datetime.now(UTC).toordinal() % len(QUOTES)], "left": left}

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness; needs no key."""
        return {"status": "ok"}

    return app


app = create_app(os.environ.get("KEYVEND_URL", "http://127.0.0.1:8080"))
