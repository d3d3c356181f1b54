"""Quote of the day: a FastAPI service protected by Keyvend.

Every call needs a Keyvend API key (header `X-API-Key` or query `api_key`) and spends one unit
of the key's quota. The Keyvend server keeps the quota (the product's config `quota` and
`quota_period`), so it is exact whatever the number of workers and survives restarts; this
service keeps no counter. It identifies itself with an application token
(`KEYVEND_APP_TOKEN`), so that bad keys sent by others never get it throttled. Run it with
`KEYVEND_URL=http://127.0.0.1:8080 KEYVEND_APP_TOKEN=kva_... uvicorn app:app`.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response

from keyvend_client import AsyncKeyvendClient, VerifiedKey
from keyvend_client.fastapi import require_api_key

QUOTES = (
    "Simple is better than complex.",
    "Errors should never pass silently.",
    "Now is better than never.",
)
COST = 1  # what one quote costs of the key's quota


def create_app(
    keyvend_url: str,
    *,
    app_token: str | None = None,
    client: AsyncKeyvendClient | None = None,
) -> FastAPI:
    """The service, verifying keys against the Keyvend server at `keyvend_url`."""
    keyvend = client or AsyncKeyvendClient(keyvend_url, app_token=app_token)
    # With a cost, every request is verified by the server (not cached) and spends COST; a
    # spent quota is answered 429 with Retry-After before the handler runs.
    api_key = Annotated[VerifiedKey, Depends(require_api_key(keyvend, cost=COST))]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await keyvend.aclose()

    app = FastAPI(title="Quote of the day", lifespan=lifespan)

    @app.get("/quote")
    async def quote(key: api_key, response: Response) -> dict[str, Any]:
        """Today's quote; costs one unit of the key's quota."""
        left = None
        if key.quota is not None:  # None: the key's product has no quota
            left = key.quota.remaining
            response.headers["X-Quota-Limit"] = str(key.quota.limit)
            response.headers["X-Quota-Remaining"] = str(left)
            if key.quota.reset_at is not None:
                response.headers["X-Quota-Reset"] = key.quota.reset_at.isoformat()
        return {"quote": QUOTES[datetime.now(UTC).toordinal() % len(QUOTES)], "left": left}

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness; needs no key."""
        return {"status": "ok"}

    return app


app = create_app(
    os.environ.get("KEYVEND_URL", "http://127.0.0.1:8080"),
    app_token=os.environ.get("KEYVEND_APP_TOKEN") or None,
)
