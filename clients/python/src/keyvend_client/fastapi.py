"""A FastAPI dependency that yields the request's verified key (needs the `fastapi` extra)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from keyvend_client.access import (
    DEFAULT_HEADER,
    DEFAULT_QUERY_PARAM,
    AsyncKeyChecker,
    Cost,
    Denial,
    KeySource,
    VerifiedKey,
    checked_cost,
    cost_of,
    judge_async,
)

KeyDependency = Callable[..., Coroutine[Any, Any, VerifiedKey]]


def require_api_key(
    client: AsyncKeyChecker,
    *,
    header: str = DEFAULT_HEADER,
    query_param: str | None = DEFAULT_QUERY_PARAM,
    cost: Cost[Request] = None,
) -> KeyDependency:
    """A dependency returning the `VerifiedKey`; HTTP 401 (missing or invalid key) or 503.

    Use it as `key: Annotated[VerifiedKey, Depends(require_api_key(client))]`; the header also
    shows up as a security scheme in the OpenAPI document. With a `cost` (a whole number, or a
    function of the `Request`) every request is verified with the server, spending that much
    of the key's quota; a spent quota or rate limit gets 429 with `Retry-After` when known.
    """
    source = KeySource(header, query_param)
    cost = checked_cost(cost)
    scheme = APIKeyHeader(name=header, auto_error=False, description="A Keyvend API key.")

    async def verified_key(
        request: Request, _from_header: str | None = Security(scheme)
    ) -> VerifiedKey:
        key = source.find(request.headers.get(header), request.url.query)
        spend = None if key is None else cost_of(cost, request)
        outcome = await judge_async(client, source, key, spend)
        if isinstance(outcome, Denial):
            raise HTTPException(outcome.status, outcome.message, headers=outcome.headers())
        return outcome

    return verified_key
