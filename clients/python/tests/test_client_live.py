"""KeyvendClient against a live Keyvend server: caching, TTLs, revocation, outages, coalescing."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import STARTER_LIMIT, FakeClock, Seed
from keyvend_client import (
    FAIL_CLOSED,
    FailurePolicy,
    KeyInfo,
    KeyNotFound,
    KeyvendClient,
    RateLimited,
    ServerUnavailable,
    ServeStale,
)
from keyvend_live import LiveServer


def test_a_valid_key_checks_true_and_carries_its_custom_parameters(
    server: LiveServer, seed: Seed
) -> None:
    key = seed.new_key()
    with KeyvendClient(server.url) as client:
        assert client.check(key) is True
        assert client.get_info(key) == KeyInfo(valid=True, params={"monthlyLimit": STARTER_LIMIT})


def test_cached_checks_make_no_request(server: LiveServer, seed: Seed, clock: FakeClock) -> None:
    key = seed.new_key()
    with KeyvendClient(server.url, clock=clock) as client:
        results = [client.check(key) for _ in range(50)] + [client.get_info(key).valid]
    assert results == [True] * 51
    assert server.counter.requests() == 1


def test_a_check_after_the_ttl_asks_the_server_again(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    with KeyvendClient(server.url, cache_ttl=30, clock=clock) as client:
        client.check(key)
        clock.advance(29.9)
        client.check(key)
        assert server.counter.requests() == 1
        clock.advance(0.1)
        client.check(key)
        assert server.counter.requests() == 2


def test_an_unknown_key_raises_key_not_found_and_is_remembered_for_the_negative_ttl(
    server: LiveServer, clock: FakeClock
) -> None:
    with KeyvendClient(server.url, negative_ttl=5, clock=clock) as client:
        for _ in range(3):
            with pytest.raises(KeyNotFound):
                client.check("NO-SUCH-KEY")
        assert server.counter.requests() == 1
        clock.advance(5)
        with pytest.raises(KeyNotFound):
            client.check("NO-SUCH-KEY")
        assert server.counter.requests() == 2


def test_a_disabled_key_is_cached_only_for_the_negative_ttl(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    order_id, key = seed.new_order()
    admin = seed.admin.at(server.url)
    admin("serviceapikey/update", order_id=order_id, valid=False)
    with KeyvendClient(server.url, cache_ttl=30, negative_ttl=5, clock=clock) as client:
        assert client.check(key) is False
        admin("serviceapikey/update", order_id=order_id, valid=True)
        clock.advance(4.9)
        assert client.check(key) is False
        clock.advance(0.1)
        assert client.check(key) is True
        assert server.counter.requests() == 2


def test_a_revoked_key_is_refused_once_its_ttl_has_passed(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    order_id, key = seed.new_order()
    with KeyvendClient(server.url, cache_ttl=30, clock=clock) as client:
        assert client.check(key) is True
        seed.admin.at(server.url)("serviceapikey/update", order_id=order_id, valid=False)
        clock.advance(29)
        assert client.check(key) is True  # the price of caching: up to cache_ttl late
        clock.advance(1)
        assert client.check(key) is False


def test_a_reset_key_is_unknown_once_its_ttl_has_passed(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    order_id, key = seed.new_order()
    with KeyvendClient(server.url, cache_ttl=30, clock=clock) as client:
        assert client.check(key) is True
        seed.admin.at(server.url)("serviceapikey/reset", order_id=order_id)
        clock.advance(30)
        with pytest.raises(KeyNotFound):
            client.check(key)


def test_invalidate_makes_the_next_check_ask_the_server(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    order_id, key = seed.new_order()
    with KeyvendClient(server.url, clock=clock) as client:
        assert client.check(key) is True
        seed.admin.at(server.url)("serviceapikey/update", order_id=order_id, valid=False)
        client.invalidate(key)
        assert client.check(key) is False


def test_a_rate_limited_check_raises_with_the_servers_retry_after(
    start_server: Callable[..., LiveServer], seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    server = start_server(rate_limit_enabled=True, rate_limit_guest="3/minute")
    with KeyvendClient(server.url, cache_ttl=0, clock=clock) as client:
        assert [client.check(key) for _ in range(3)] == [True] * 3
        with pytest.raises(RateLimited) as limited:
            client.check(key)
    assert 1 <= limited.value.retry_after <= 60
    assert server.counter.requests() == 4


def test_after_a_429_the_client_waits_for_retry_after_before_asking_again(
    start_server: Callable[..., LiveServer], seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    server = start_server(rate_limit_enabled=True, rate_limit_guest="3/minute")
    with KeyvendClient(server.url, cache_ttl=0, clock=clock) as client:
        for _ in range(3):
            client.check(key)
        with pytest.raises(RateLimited) as first:
            client.check(key)
        clock.advance(first.value.retry_after - 0.5)
        with pytest.raises(RateLimited) as second:
            client.check(key)
        assert second.value.retry_after == 1
        assert server.counter.requests() == 4
        clock.advance(0.5)
        with pytest.raises(RateLimited):  # the server's real minute has not passed
            client.check(key)
        assert server.counter.requests() == 5


def test_a_rate_limited_client_may_serve_the_last_known_answer(
    start_server: Callable[..., LiveServer], seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    server = start_server(rate_limit_enabled=True, rate_limit_guest="3/minute")
    policy = ServeStale(seconds=60)
    with KeyvendClient(server.url, cache_ttl=1, on_unavailable=policy, clock=clock) as client:
        for _ in range(3):
            assert client.check(key) is True
            clock.advance(1)
        assert client.check(key) is True
    assert server.counter.requests() == 4


def test_server_down_fails_closed_by_default(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    with KeyvendClient(server.url, cache_ttl=30, clock=clock) as client:
        assert client.check(key) is True
        server.stop()
        assert client.check(key) is True  # still fresh
        clock.advance(30)
        with pytest.raises(ServerUnavailable):
            client.check(key)


def test_server_down_serves_the_last_known_answer_for_the_stale_window(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    policy = ServeStale(seconds=60)
    with KeyvendClient(server.url, cache_ttl=30, on_unavailable=policy, clock=clock) as client:
        assert client.check(key) is True
        with pytest.raises(KeyNotFound):
            client.check("NO-SUCH-KEY")
        server.stop()
        clock.advance(5 + 59.9)  # the unknown key expired after negative_ttl=5
        with pytest.raises(KeyNotFound):
            client.check("NO-SUCH-KEY")
        clock.advance(0.1)
        with pytest.raises(ServerUnavailable):
            client.check("NO-SUCH-KEY")
        clock.advance(30 - 5 - 0.1)
        assert client.check(key) is True
        clock.advance(0.1)
        with pytest.raises(ServerUnavailable):
            client.check(key)


def test_server_down_with_nothing_known_is_unavailable_whatever_the_policy(
    server: LiveServer, seed: Seed
) -> None:
    key = seed.new_key()
    server.stop()
    policies: list[FailurePolicy] = [FAIL_CLOSED, ServeStale(seconds=3600)]
    for policy in policies:
        client = KeyvendClient(server.url, on_unavailable=policy)
        with client, pytest.raises(ServerUnavailable):
            client.check(key)


def test_a_proxy_error_page_counts_as_server_unavailable(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    stale = KeyvendClient(server.url, on_unavailable=ServeStale(seconds=60), clock=clock)
    closed = KeyvendClient(server.url, clock=clock)
    with stale, closed:
        assert stale.check(key) is True and closed.check(key) is True
        server.counter.outage_status = 502
        clock.advance(30)
        assert stale.check(key) is True
        with pytest.raises(ServerUnavailable, match="HTTP 502"):
            closed.check(key)


def test_one_hundred_concurrent_checks_of_one_key_make_exactly_one_request(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    # No caching at all: only coalescing can keep the 99 other checks off the server.
    client = KeyvendClient(server.url, cache_ttl=0, negative_ttl=0, clock=clock)
    server.counter.hold()
    with client, ThreadPoolExecutor(max_workers=100) as pool:
        checks = [pool.submit(client.check, key) for _ in range(100)]
        assert server.counter.arrived.wait(timeout=30)
        assert client._flight.wait_for_followers(key, 99, timeout=30)
        server.counter.release()
        results = [check.result(timeout=30) for check in checks]
    assert results == [True] * 100
    assert server.counter.requests() == 1
