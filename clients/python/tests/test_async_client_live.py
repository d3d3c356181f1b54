"""AsyncKeyvendClient against a live Keyvend server: the same contract as the sync client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from conftest import STARTER_LIMIT, FakeClock, Seed
from keyvend_client import (
    AsyncKeyvendClient,
    KeyInfo,
    KeyNotFound,
    RateLimited,
    ServerUnavailable,
    ServeStale,
)
from keyvend_live import LiveServer

pytestmark = pytest.mark.anyio


async def test_a_valid_key_checks_true_and_carries_its_custom_parameters(
    server: LiveServer, seed: Seed
) -> None:
    key = seed.new_key()
    async with AsyncKeyvendClient(server.url) as client:
        assert await client.check(key) is True
        info = await client.get_info(key)
    assert info == KeyInfo(valid=True, params={"monthlyLimit": STARTER_LIMIT})


async def test_cached_checks_make_no_request_until_the_ttl_passes(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    async with AsyncKeyvendClient(server.url, cache_ttl=30, clock=clock) as client:
        assert [await client.check(key) for _ in range(50)] == [True] * 50
        assert server.counter.requests() == 1
        clock.advance(30)
        assert await client.check(key) is True
        assert server.counter.requests() == 2


async def test_an_unknown_key_raises_key_not_found_and_is_remembered_for_the_negative_ttl(
    server: LiveServer, clock: FakeClock
) -> None:
    async with AsyncKeyvendClient(server.url, negative_ttl=5, clock=clock) as client:
        for _ in range(3):
            with pytest.raises(KeyNotFound):
                await client.check("NO-SUCH-KEY")
        assert server.counter.requests() == 1
        clock.advance(5)
        with pytest.raises(KeyNotFound):
            await client.check("NO-SUCH-KEY")
    assert server.counter.requests() == 2


async def test_a_revoked_key_is_refused_once_its_ttl_has_passed(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    order_id, key = seed.new_order()
    async with AsyncKeyvendClient(server.url, cache_ttl=30, clock=clock) as client:
        assert await client.check(key) is True
        seed.admin.at(server.url)("serviceapikey/update", order_id=order_id, valid=False)
        clock.advance(29)
        assert await client.check(key) is True
        clock.advance(1)
        assert await client.check(key) is False


async def test_a_rate_limited_check_raises_with_the_servers_retry_after(
    start_server: Callable[..., LiveServer], seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    server = start_server(rate_limit_enabled=True, rate_limit_guest="3/minute")
    async with AsyncKeyvendClient(server.url, cache_ttl=0, clock=clock) as client:
        assert [await client.check(key) for _ in range(3)] == [True] * 3
        with pytest.raises(RateLimited) as limited:
            await client.check(key)
        with pytest.raises(RateLimited):  # within Retry-After: not even asked
            await client.check(key)
    assert 1 <= limited.value.retry_after <= 60
    assert server.counter.requests() == 4


async def test_server_down_fails_closed_by_default(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    async with AsyncKeyvendClient(server.url, cache_ttl=30, clock=clock) as client:
        assert await client.check(key) is True
        server.stop()
        clock.advance(30)
        with pytest.raises(ServerUnavailable):
            await client.check(key)


async def test_server_down_serves_the_last_known_answer_for_the_stale_window(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    policy = ServeStale(seconds=60)
    client = AsyncKeyvendClient(server.url, cache_ttl=30, on_unavailable=policy, clock=clock)
    async with client:
        assert await client.check(key) is True
        server.stop()
        clock.advance(30 + 59.9)
        assert await client.check(key) is True
        clock.advance(0.1)
        with pytest.raises(ServerUnavailable):
            await client.check(key)


async def test_one_hundred_concurrent_checks_of_one_key_make_exactly_one_request(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    # No caching at all: only coalescing can keep the 99 other checks off the server. All 100
    # tasks run up to their first await before the shared request task is even started.
    client = AsyncKeyvendClient(server.url, cache_ttl=0, negative_ttl=0, clock=clock)
    async with client:
        results = await asyncio.gather(*(client.check(key) for _ in range(100)))
    assert results == [True] * 100
    assert server.counter.requests() == 1


async def test_concurrent_checks_of_an_unknown_key_all_raise_key_not_found(
    server: LiveServer, clock: FakeClock
) -> None:
    async with AsyncKeyvendClient(server.url, negative_ttl=0, clock=clock) as client:
        outcomes = await asyncio.gather(
            *(client.check("NO-SUCH-KEY") for _ in range(20)), return_exceptions=True
        )
    assert all(isinstance(outcome, KeyNotFound) for outcome in outcomes)
    assert server.counter.requests() == 1
