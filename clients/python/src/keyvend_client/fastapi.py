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
    Denial,
    KeySource,
    VerifiedKey,
    judge_async,
)

KeyDependency = Callable[..., Coroutine[Any, Any, VerifiedKey]]


def require_api_key(
    client: AsyncKeyChecker,
    *,
    header: str = DEFAULT_HEADER,
    query_param: str | None = DEFAULT_QUERY_PARAM,
) -> KeyDependency:
    """A dependency returning the `VerifiedKey`; HTTP 401 (missing or invalid key) or 503.

    Use it as `key: Annotated[VerifiedKey, Depends(require_api_key(client))]`; the header also
    shows up as a security scheme in the OpenAPI document.
    """
    source = KeySource(header, query_param)
    scheme = APIKeyHeader(name=header, auto_error=False, description="A Keyvend API key.")

    async def verified_key(
        request: Request, _from_header: str | None = Security(scheme)
    ) -> VerifiedKey:
        key = source.find(request.headers.get(header), request.url.query)
        outcome = await judge_async(client, source, key)
        if isinstance(outcome, Denial):
            raise HTTPException(outcome.status, outcome.message, headers=outcome.headers())
        return outcome

    return verified_key
