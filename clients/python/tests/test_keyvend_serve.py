"""End to end against the real `keyvend serve` command, started in a subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import STARTER_LIMIT, FakeClock, Seed
from keyvend_client import (
    KeyInfo,
    KeyNotFound,
    KeyvendClient,
    RateLimited,
    ServerUnavailable,
    VerifyCode,
)
from keyvend_live import ServeProcess

TIMEOUT = 30.0  # a freshly started server on a busy machine can take a while to answer


@pytest.fixture
def serve(seed: Seed) -> Iterator[ServeProcess]:
    process = ServeProcess(seed.data_dir)
    try:
        process.wait_until_listening()
        yield process
    finally:
        process.stop()


def test_keys_check_against_keyvend_serve_and_fail_closed_once_it_stops(
    serve: ServeProcess, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    with KeyvendClient(serve.url, clock=clock, timeout=TIMEOUT) as client:
        assert client.get_info(key) == KeyInfo(True, {"monthlyLimit": STARTER_LIMIT})
        with pytest.raises(KeyNotFound):
            client.check(key.lower().replace("-", ""))  # dashes are significant
        assert client.check(key.lower()) is True  # letter case is not
        serve.stop()
        assert client.check(key) is True  # from the cache
        clock.advance(30)
        with pytest.raises(ServerUnavailable):
            client.check(key)


@pytest.fixture
def strict_serve(seed: Seed) -> Iterator[ServeProcess]:
    """`keyvend serve` allowing each IP only 3 guest misses a minute."""
    process = ServeProcess(
        seed.data_dir,
        KEYVEND_RATE_LIMIT_ENABLED="true",
        KEYVEND_RATE_LIMIT_GUEST_MISS="3/minute",
    )
    try:
        process.wait_until_listening()
        yield process
    finally:
        process.stop()


def test_bad_keys_sent_through_an_application_never_get_it_throttled(
    strict_serve: ServeProcess, seed: Seed
) -> None:
    key = seed.new_key()
    bad_keys = [f"NO-SUCH-KEY-{n}" for n in range(12)]
    with KeyvendClient(
        strict_serve.url, app_token=seed.app_token, negative_ttl=0, timeout=TIMEOUT
    ) as app:
        for bad in bad_keys:
            with pytest.raises(KeyNotFound):
                app.get_info(bad)
            assert app.verify(bad).code == VerifyCode.NOT_FOUND
        assert app.check(key) is True
        assert app.verify(key, cost=0).valid
    with KeyvendClient(
        strict_serve.url, negative_ttl=0, timeout=TIMEOUT
    ) as guest:  # the same IP, no token
        for bad in bad_keys[:3]:
            with pytest.raises(KeyNotFound):
                guest.check(bad)
        with pytest.raises(RateLimited):
            guest.check(bad_keys[3])
