"""End to end against the real `keyvend serve` command, started in a subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import STARTER_LIMIT, FakeClock, Seed
from keyvend_client import KeyInfo, KeyNotFound, KeyvendClient, ServerUnavailable
from keyvend_live import ServeProcess


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
    with KeyvendClient(serve.url, clock=clock) as client:
        assert client.get_info(key) == KeyInfo(True, {"monthlyLimit": STARTER_LIMIT})
        with pytest.raises(KeyNotFound):
            client.check(key.lower().replace("-", ""))  # dashes are significant
        assert client.check(key.lower()) is True  # letter case is not
        serve.stop()
        assert client.check(key) is True  # from the cache
        clock.advance(30)
        with pytest.raises(ServerUnavailable):
            client.check(key)
