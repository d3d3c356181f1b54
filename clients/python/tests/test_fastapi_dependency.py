"""require_api_key: a FastAPI dependency with the same answers as the middlewares."""

# No `from __future__ import annotations`: FastAPI must see the local `api_key` alias itself.

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from keyvend_client import VerifiedKey
from keyvend_client.fastapi import require_api_key
from keyvend_stubs import DISABLED, DOWN, GOOD, HURRIED, LIMITED, SPENT, AsyncStubChecker

pytestmark = pytest.mark.anyio


def make_app(checker: AsyncStubChecker, **options: Any) -> FastAPI:
    app = FastAPI()
    api_key = Annotated[VerifiedKey, Depends(require_api_key(checker, **options))]

    @app.get("/quote")
    async def quote(key: api_key) -> dict[str, Any]:
        left = None if key.quota is None else key.quota.remaining
        return {"params": dict(key.params), "key_length": len(key.key), "left": left}

    return app


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(AsyncStubChecker()))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client


async def test_the_handler_gets_the_verified_key_and_its_parameters(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/quote", headers={"X-API-Key": GOOD})
    assert response.json() == {
        "params": {"monthlyLimit": 250},
        "key_length": len(GOOD),
        "left": None,
    }


async def test_the_key_may_come_in_the_query_string(http: httpx.AsyncClient) -> None:
    response = await http.get("/quote", params={"api_key": GOOD})
    assert response.status_code == 200


async def test_a_missing_key_gets_401_in_json(http: httpx.AsyncClient) -> None:
    response = await http.get("/quote")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Missing API key: send it in the X-API-Key")


@pytest.mark.parametrize("key", [DISABLED, "NO-SUCH-KEY"])
async def test_an_invalid_or_unknown_key_gets_401(http: httpx.AsyncClient, key: str) -> None:
    response = await http.get("/quote", headers={"X-API-Key": key})
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid API key"})


async def test_a_key_that_cannot_be_verified_gets_503(http: httpx.AsyncClient) -> None:
    assert (await http.get("/quote", headers={"X-API-Key": DOWN})).status_code == 503
    limited = await http.get("/quote", headers={"X-API-Key": LIMITED})
    assert (limited.status_code, limited.headers["retry-after"]) == (503, "7")


async def test_with_a_cost_the_request_spends_it_and_a_spent_quota_gets_429() -> None:
    checker = AsyncStubChecker()
    transport = httpx.ASGITransport(app=make_app(checker, cost=lambda request: 4))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        passed = await http.get("/quote", headers={"X-API-Key": GOOD})
        spent = await http.get("/quote", headers={"X-API-Key": SPENT})
        hurried = await http.get("/quote", headers={"X-API-Key": HURRIED})
    assert passed.json()["left"] == 10 - 4
    assert checker.sync.costs == [4, 4, 4]
    assert spent.status_code == 429
    assert spent.json() == {
        "detail": "API key quota of 3 used up; it starts again at 2027-01-01T00:00:00+00:00"
    }
    assert int(spent.headers["retry-after"]) >= 1
    assert (hurried.status_code, hurried.json()["detail"]) == (
        429,
        "API key rate limit reached; slow down and try again",
    )


async def test_the_header_is_documented_as_a_security_scheme() -> None:
    app = make_app(AsyncStubChecker(), header="X-Service-Key", query_param=None)
    schemes = app.openapi()["components"]["securitySchemes"]
    assert schemes == {
        "APIKeyHeader": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Service-Key",
            "description": "A Keyvend API key.",
        }
    }
