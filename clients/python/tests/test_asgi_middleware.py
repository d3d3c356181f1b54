"""KeyvendMiddleware: 401 JSON for a missing or invalid key, the key's parameters for handlers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from keyvend_client.asgi import KeyvendMiddleware, Receive, Scope, Send
from keyvend_stubs import (
    DISABLED,
    DOWN,
    FOREVER_SPENT,
    GOOD,
    HURRIED,
    LIMITED,
    SPENT,
    WRONG_TOKEN,
    AsyncStubChecker,
)

pytestmark = pytest.mark.anyio


async def echo_params(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app answering with the parameters of the key the middleware verified."""
    body = json.dumps(dict(scope["state"]["keyvend"].params)).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def checker() -> AsyncStubChecker:
    return AsyncStubChecker()


@pytest.fixture
async def http(checker: AsyncStubChecker) -> AsyncIterator[httpx.AsyncClient]:
    app = KeyvendMiddleware(echo_params, client=checker, exempt_paths={"/health"})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client


async def test_a_valid_key_in_the_header_reaches_the_handler_with_its_parameters(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/quote", headers={"X-API-Key": GOOD})
    assert response.status_code == 200
    assert response.json() == {"monthlyLimit": 250}


async def test_a_valid_key_in_the_query_string_is_accepted_too(http: httpx.AsyncClient) -> None:
    response = await http.get("/quote", params={"api_key": GOOD})
    assert response.json() == {"monthlyLimit": 250}


async def test_a_request_without_a_key_gets_401_in_json_saying_where_to_put_it(
    http: httpx.AsyncClient, checker: AsyncStubChecker
) -> None:
    response = await http.get("/quote", headers={"X-API-Key": "  "})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": "Missing API key: send it in the X-API-Key header or the api_key query parameter"
    }
    assert checker.sync.asked == []


@pytest.mark.parametrize("key", [DISABLED, "NO-SUCH-KEY"])
async def test_an_invalid_or_unknown_key_gets_401(http: httpx.AsyncClient, key: str) -> None:
    response = await http.get("/quote", headers={"X-API-Key": key})
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid API key"})


async def test_a_rate_limited_check_fails_closed_with_503_and_retry_after(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/quote", headers={"X-API-Key": LIMITED})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"


async def test_an_unreachable_server_fails_closed_with_503(http: httpx.AsyncClient) -> None:
    response = await http.get("/quote", headers={"X-API-Key": DOWN})
    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]


async def test_exempt_paths_need_no_key(checker: AsyncStubChecker) -> None:
    async def health(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = KeyvendMiddleware(health, client=checker, exempt_paths={"/health"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        assert (await client.get("http://app/health")).status_code == 204
        assert (await client.get("http://app/other")).status_code == 401


async def test_the_query_parameter_can_be_turned_off(checker: AsyncStubChecker) -> None:
    app = KeyvendMiddleware(
        echo_params, client=checker, header="Authorization-Key", query_param=None
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        response = await client.get("http://app/", params={"api_key": GOOD})
        assert response.json() == {
            "detail": "Missing API key: send it in the Authorization-Key header"
        }
        response = await client.get("http://app/", headers={"authorization-key": GOOD})
        assert response.status_code == 200


def test_a_websocket_without_a_valid_key_is_closed_with_policy_violation() -> None:
    async def talk(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(dict(websocket.state.keyvend.params))
        await websocket.close()

    app = KeyvendMiddleware(
        Starlette(routes=[WebSocketRoute("/ws", talk)]), client=AsyncStubChecker()
    )
    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
            pass
        assert refused.value.code == 1008
        with client.websocket_connect("/ws", headers={"X-API-Key": GOOD}) as websocket:
            assert websocket.receive_json() == {"monthlyLimit": 250}


async def echo_quota(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app answering with what the verified key has left of its quota."""
    quota = scope["state"]["keyvend"].quota
    body = json.dumps({"remaining": quota.remaining, "limit": quota.limit}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def by_method(scope: Scope) -> int:
    return 2 if scope["method"] == "POST" else 1


@pytest.fixture
async def metered(checker: AsyncStubChecker) -> AsyncIterator[httpx.AsyncClient]:
    app = KeyvendMiddleware(echo_quota, client=checker, cost=by_method)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client


async def test_with_a_cost_every_request_is_verified_and_the_handler_sees_the_quota_left(
    metered: httpx.AsyncClient, checker: AsyncStubChecker
) -> None:
    read = await metered.get("/quote", headers={"X-API-Key": GOOD})
    write = await metered.post("/quote", headers={"X-API-Key": GOOD})
    assert [read.json(), write.json()] == [
        {"remaining": 9, "limit": 10},
        {"remaining": 8, "limit": 10},
    ]
    assert checker.sync.costs == [1, 2]


async def test_a_spent_quota_gets_429_saying_when_it_starts_again(
    metered: httpx.AsyncClient,
) -> None:
    response = await metered.get("/quote", headers={"X-API-Key": SPENT})
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": "API key quota of 3 used up; it starts again at 2027-01-01T00:00:00+00:00",
        "code": "USAGE_EXCEEDED",
        "quota": {"limit": 3, "remaining": 0, "reset_at": "2027-01-01T00:00:00+00:00"},
    }
    assert int(response.headers["retry-after"]) >= 1


async def test_a_spent_total_quota_gets_429_without_retry_after(
    metered: httpx.AsyncClient,
) -> None:
    response = await metered.get("/quote", headers={"X-API-Key": FOREVER_SPENT})
    assert response.status_code == 429
    assert response.json()["detail"] == "API key quota of 3 used up; it does not start again"
    assert "retry-after" not in response.headers


async def test_a_keys_own_rate_limit_gets_429(metered: httpx.AsyncClient) -> None:
    response = await metered.get("/quote", headers={"X-API-Key": HURRIED})
    assert response.status_code == 429
    assert response.json() == {
        "detail": "API key rate limit reached; slow down and try again",
        "code": "RATE_LIMITED",
    }


@pytest.mark.parametrize("key", [DISABLED, "NO-SUCH-KEY"])
async def test_with_a_cost_an_invalid_or_unknown_key_still_gets_401(
    metered: httpx.AsyncClient, key: str
) -> None:
    response = await metered.get("/quote", headers={"X-API-Key": key})
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid API key"})


async def test_a_refused_application_token_fails_closed_with_503(
    http: httpx.AsyncClient, metered: httpx.AsyncClient
) -> None:
    for client in (http, metered):
        response = await client.get("/quote", headers={"X-API-Key": WRONG_TOKEN})
        assert (response.status_code, response.json()["detail"]) == (
            503,
            "API key verification is unavailable; try again later",
        )


async def test_a_request_without_a_key_costs_nothing_and_is_not_priced() -> None:
    def no_pricing(scope: Scope) -> int:
        raise AssertionError("priced a request without a key")

    app = KeyvendMiddleware(echo_quota, client=AsyncStubChecker(), cost=no_pricing)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        assert (await client.get("http://app/quote")).status_code == 401


async def test_a_cost_must_be_a_whole_number_of_at_least_zero() -> None:
    with pytest.raises(ValueError, match="cost"):
        KeyvendMiddleware(echo_quota, client=AsyncStubChecker(), cost=-1)
    app = KeyvendMiddleware(echo_quota, client=AsyncStubChecker(), cost=lambda scope: -1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        with pytest.raises(ValueError, match="cost"):
            await client.get("http://app/quote", headers={"X-API-Key": GOOD})
