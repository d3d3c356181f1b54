"""verify, application tokens and Unauthorized against a live Keyvend server (both clients)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import datetime
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx
import pytest

from conftest import METERED_QUOTA, STARTER_LIMIT, FakeClock, Seed
from keyvend_client import (
    AsyncKeyvendClient,
    KeyNotFound,
    KeyvendClient,
    Unauthorized,
    Verification,
    VerifyCode,
)
from keyvend_client.asgi import KeyvendMiddleware, Receive, Scope, Send
from keyvend_client.protocol import INFO_PATH, VERIFY_PATH
from keyvend_client.wsgi import KeyvendWSGIMiddleware
from keyvend_live import LiveServer

WRONG_TOKEN = "kva_" + "0" * 43


def test_verify_spends_the_quota_until_usage_is_exceeded_and_cost_zero_spends_nothing(
    server: LiveServer, seed: Seed
) -> None:
    key = seed.new_key(seed.metered_id)
    with KeyvendClient(server.url, app_token=seed.app_token) as client:
        first = client.verify(key)
        looked = client.verify(key, cost=0)
        rest = [client.verify(key) for _ in range(METERED_QUOTA - 1)]
        refused = client.verify(key)
    assert first.valid and first.code is VerifyCode.VALID
    assert first.params == {"monthlyLimit": METERED_QUOTA}
    assert first.quota is not None and first.quota.limit == METERED_QUOTA
    remaining = [v.quota.remaining for v in [first, looked, *rest] if v.quota is not None]
    assert remaining == [2, 2, 1, 0]
    assert (refused.valid, refused.code) == (False, VerifyCode.USAGE_EXCEEDED)
    assert refused.quota is not None and refused.quota.remaining == 0
    assert server.counter.requests(VERIFY_PATH) == METERED_QUOTA + 2  # never cached


def test_verify_parses_the_expiry_and_reset_as_aware_datetimes(
    server: LiveServer, seed: Seed
) -> None:
    with KeyvendClient(server.url) as client:
        found = client.verify(seed.new_key(seed.metered_id), cost=0)
    assert isinstance(found.expires_at, datetime) and found.expires_at.tzinfo is not None
    assert found.quota is not None and isinstance(found.quota.reset_at, datetime)
    assert found.quota.reset_at.tzinfo is not None
    assert found.quota.reset_at <= found.expires_at  # a 1-month order, a monthly quota


def test_verify_of_an_unknown_or_disabled_key_is_a_result_not_an_error(
    server: LiveServer, seed: Seed
) -> None:
    order_id, key = seed.new_order()
    seed.admin.at(server.url)("serviceapikey/update", order_id=order_id, valid=False)
    with KeyvendClient(server.url) as client:
        unknown = client.verify("NO-SUCH-KEY")
        too_long = client.verify("K" * 601)
        disabled = client.verify(key)
    assert unknown == Verification(valid=False, code=VerifyCode.NOT_FOUND)
    assert too_long == unknown
    assert (disabled.valid, disabled.code) == (False, VerifyCode.DISABLED)
    assert disabled.params == {"monthlyLimit": STARTER_LIMIT} and disabled.quota is None
    assert server.counter.requests(VERIFY_PATH) == 2


def test_verify_leaves_the_check_cache_alone(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    with KeyvendClient(server.url, clock=clock) as client:
        assert client.verify(key).valid
        assert client.check(key) and client.check(key)
    assert server.counter.requests(INFO_PATH) == 1


def test_a_wrong_application_token_raises_unauthorized_on_every_call_and_is_never_cached(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    with KeyvendClient(server.url, app_token=WRONG_TOKEN, clock=clock) as client:
        for _ in range(2):
            with pytest.raises(Unauthorized) as refused:
                client.check(key)
            with pytest.raises(Unauthorized):
                client.get_info("NO-SUCH-KEY")
            with pytest.raises(Unauthorized):
                client.verify(key)
        shown = repr(client)
    assert WRONG_TOKEN not in str(refused.value) and WRONG_TOKEN not in shown
    assert shown == f"KeyvendClient({server.url!r}, app_token='***')"
    assert server.counter.requests(INFO_PATH) == 4
    assert server.counter.requests(VERIFY_PATH) == 2


def test_an_application_token_works_for_check_and_get_info(server: LiveServer, seed: Seed) -> None:
    key = seed.new_key()
    with KeyvendClient(server.url, app_token=seed.app_token) as client:
        assert client.check(key) is True
        with pytest.raises(KeyNotFound):
            client.get_info("NO-SUCH-KEY")


def test_a_blank_token_or_a_negative_cost_is_a_programming_error(server: LiveServer) -> None:
    with pytest.raises(ValueError, match="app_token"):
        KeyvendClient(server.url, app_token=" ")
    with KeyvendClient(server.url) as client, pytest.raises(ValueError, match="cost"):
        client.verify("ANY-KEY", cost=-1)


@pytest.mark.anyio
async def test_the_async_client_verifies_alike_and_never_coalesces_verifies(
    server: LiveServer, seed: Seed
) -> None:
    key = seed.new_key(seed.metered_id)
    async with AsyncKeyvendClient(server.url, app_token=seed.app_token) as client:
        spent = await asyncio.gather(*(client.verify(key) for _ in range(METERED_QUOTA)))
        refused = await client.verify(key)
        looked = await client.verify(key, cost=0)
        unknown = await client.verify("NO-SUCH-KEY")
    assert sorted(v.quota.remaining for v in spent if v.quota is not None) == [0, 1, 2]
    assert refused.code is VerifyCode.USAGE_EXCEEDED
    # Looking costs nothing, so it fits even in a spent quota: the server says VALID.
    assert looked.code is VerifyCode.VALID and looked.quota is not None
    assert looked.quota.remaining == 0
    assert unknown.code is VerifyCode.NOT_FOUND
    assert server.counter.requests(VERIFY_PATH) == METERED_QUOTA + 3


@pytest.mark.anyio
async def test_the_async_client_raises_unauthorized_for_a_wrong_token(
    server: LiveServer, seed: Seed
) -> None:
    key = seed.new_key()
    async with AsyncKeyvendClient(server.url, app_token=WRONG_TOKEN) as client:
        with pytest.raises(Unauthorized):
            await client.check(key)
        with pytest.raises(Unauthorized):
            await client.verify(key)
        assert WRONG_TOKEN not in repr(client)


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.mark.anyio
async def test_asgi_middleware_with_a_cost_answers_429_once_the_quota_is_spent(
    server: LiveServer, seed: Seed
) -> None:
    key = seed.new_key(seed.metered_id)
    async with AsyncKeyvendClient(server.url, app_token=seed.app_token) as keyvend:
        app = KeyvendMiddleware(ok, client=keyvend, cost=1)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            calls = [
                await http.get("http://app/", headers={"X-API-Key": key})
                for _ in range(METERED_QUOTA + 1)
            ]
    assert [call.status_code for call in calls] == [200] * METERED_QUOTA + [429]
    assert calls[-1].json()["code"] == "USAGE_EXCEEDED"
    assert calls[-1].json()["quota"]["remaining"] == 0
    assert int(calls[-1].headers["retry-after"]) >= 1


def test_wsgi_middleware_with_a_cost_answers_429_once_the_quota_is_spent(
    server: LiveServer, seed: Seed
) -> None:
    def ok_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"left": environ["keyvend"].quota.remaining}).encode()]

    key = seed.new_key(seed.metered_id)
    with KeyvendClient(server.url, app_token=seed.app_token) as keyvend:
        app = KeyvendWSGIMiddleware(ok_wsgi, client=keyvend, cost=2)
        with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
            calls = [http.get("http://app/", headers={"X-API-Key": key}) for _ in range(2)]
    assert (calls[0].status_code, calls[0].json()) == (200, {"left": METERED_QUOTA - 2})
    assert (calls[1].status_code, calls[1].json()["code"]) == (429, "USAGE_EXCEEDED")
