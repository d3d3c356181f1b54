"""A Redis that accepts connections and never answers (frozen, or a partition): the limiter
gives up after a short timeout, falls back to memory, and waits longer and longer before it
tries again, so a hung Redis costs one short stall now and then, not one every few seconds."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from keyvend.edge.ratelimit import REDIS_RETRY_MAX_SECONDS, REDIS_RETRY_SECONDS, Counters


class HungServer:
    """A TCP server that accepts every connection, reads what it is sent and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.held: list[socket.socket] = []
        self.seen = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self.seen:
                self.requests += 1
                self.seen.notify_all()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hung() -> Iterator[HungServer]:
    server = HungServer()
    yield server
    server.close()


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_hung_redis_is_tried_again_after_growing_waits(hung: HungServer) -> None:
    clock = Monotonic()
    counters = Counters(f"redis://127.0.0.1:{hung.port}/0", monotonic=clock)
    assert counters.incr("k", 60, 1) == 1  # timed out on Redis, counted in memory
    tried = hung.requests
    assert tried >= 1
    assert [counters.incr("k", 60, 1) for _ in range(50)] == list(range(2, 52))
    assert hung.requests == tried  # within the wait, Redis is not asked again
    waits = []
    wait = REDIS_RETRY_SECONDS
    for _ in range(6):
        clock.now += wait - 0.5
        counters.incr("k", 60, 1)
        assert hung.requests == tried  # not yet
        clock.now += 0.5
        counters.incr("k", 60, 1)
        assert hung.requests > tried  # now it tries again, and fails again
        tried = hung.requests
        waits.append(wait)
        wait = min(wait * 2, REDIS_RETRY_MAX_SECONDS)
    assert waits == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
