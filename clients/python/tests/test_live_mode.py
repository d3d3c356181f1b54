"""Live mode against real servers: revocations reach the client's cache through the stream.

The clients here run on a clock that never moves, so a cached answer would live for ever:
only an eviction from the stream can make a check ask the server again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from keyvend.app import build_database
from keyvend.db.migrate import upgrade
from keyvend.schemas.account import StaffCreate
from keyvend.services import extension, staff

from conftest import FakeClock, Seed
from keyvend_client import KeyNotFound, KeyvendClient, LiveState, ServerUnavailable, Unauthorized
from keyvend_live import SECRET, AdminApi, LiveServer, ServeProcess, settings
from keyvend_network import TcpProxy, postgres_schema

CACHE_TTL = 30.0
DEADLINE = 10.0  # seconds; a revocation takes milliseconds, a busy machine may add some


def eventually(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.01)


def refused(client: KeyvendClient, key: str) -> bool:
    """Whether the client no longer lets `key` in."""
    try:
        return client.check(key) is False
    except KeyNotFound:
        return True


def live_client(url: str, token: str, clock: FakeClock) -> KeyvendClient:
    return KeyvendClient(
        url, app_token=token, live=True, cache_ttl=CACHE_TTL, clock=clock, timeout=30
    )


def cache_while_live(client: KeyvendClient, *keys: str) -> None:
    """Start following, wait for `live`, then cache `keys` (answers trusted for live_ttl)."""
    client.invalidate()
    client.check(keys[0])
    eventually(lambda: client.live_state == LiveState.LIVE, "the stream is live")
    client.invalidate()
    for key in keys:
        assert client.check(key) is True


@pytest.fixture
def serve_two_workers(seed: Seed) -> Iterator[ServeProcess]:
    process = ServeProcess(seed.data_dir, KEYVEND_WORKERS="2")
    try:
        process.wait_until_listening()
        yield process
    finally:
        process.stop()


def test_on_sqlite_with_two_workers_a_suspend_and_a_reset_reach_a_live_client(
    serve_two_workers: ServeProcess, seed: Seed, clock: FakeClock
) -> None:
    admin = seed.admin.at(serve_two_workers.url)
    suspended_order, suspended = seed.new_order()
    reset_order, reset = seed.new_order()
    with live_client(serve_two_workers.url, seed.app_token, clock) as client:
        cache_while_live(client, suspended, reset)
        admin("order/suspend", id=suspended_order, reason="unpaid")
        eventually(lambda: refused(client, suspended), "the suspended key is refused")
        assert client.check(reset) is True
        admin("serviceapikey/reset", order_id=reset_order)
        eventually(lambda: refused(client, reset), "the reset key is refused")
        assert client.live_state == LiveState.LIVE
    assert client.live_state == LiveState.CLOSED
    assert not [t for t in threading.enumerate() if t.name == "keyvend-live"]


@pytest.fixture
def two_servers_on_postgres(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two `keyvend serve` processes on one PostgreSQL schema, an admin, a key, a token."""
    with postgres_schema() as url:
        db = build_database(settings(tmp_path, database_url=url))
        upgrade(db.engine)
        extension.ensure_installed(db)
        token = staff.create_admin(db, StaffCreate(email="ops@example.com")).api_token
        db.dispose()
        servers = [
            ServeProcess(tmp_path / name, KEYVEND_DATABASE_URL=url, KEYVEND_SECRET_KEY=SECRET)
            for name in "ab"
        ]
        try:
            for server in servers:
                server.wait_until_listening()
            yield {"a": servers[0].url, "b": servers[1].url, **_seeded(servers[0].url, token)}
        finally:
            for server in servers:
                server.stop()


def _seeded(url: str, token: str) -> dict[str, Any]:
    admin = AdminApi(url, token)
    product_id = admin("product/prepare", title="Pro", type="apikey")
    admin("product/update", id=product_id, status="enabled", setup="after_order")
    client_id = admin("client/create", email="c@example.com", first_name="C")
    order_id = admin(
        "order/create", client_id=client_id, product_id=product_id, period="1M", activate=True
    )
    return {
        "admin": admin,
        "order_id": order_id,
        "key": admin("order/service", id=order_id)["api_key"],
        "app_token": admin("application/create", name="live")["token"],
    }


def test_a_reset_through_one_server_reaches_a_client_following_the_other(
    two_servers_on_postgres: dict[str, Any], clock: FakeClock
) -> None:
    cluster = two_servers_on_postgres
    with live_client(cluster["a"], cluster["app_token"], clock) as client:
        cache_while_live(client, cluster["key"])
        cluster["admin"].at(cluster["b"])("serviceapikey/reset", order_id=cluster["order_id"])
        eventually(lambda: refused(client, cluster["key"]), "the reset key is refused")


def test_while_the_stream_is_down_answers_fall_back_to_the_short_ttl_and_a_reconnect_replays(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    admin = seed.admin.at(server.url)
    early = seed.new_key()
    order_id, late = seed.new_order()
    proxy = TcpProxy(server.url)
    try:
        with live_client(proxy.url, seed.app_token, clock) as client:
            cache_while_live(client, early)
            clock.advance(CACHE_TTL - 10)
            assert client.check(late) is True
            proxy.cut()
            eventually(lambda: client.live_state == LiveState.DOWN, "the client sees the cut")
            admin("order/suspend", id=order_id, reason="unpaid")  # unheard by the client
            clock.advance(10)
            with pytest.raises(ServerUnavailable):  # 30 s old: the short TTL is over
                client.check(early)
            assert client.check(late) is True  # 10 s old: still fresh under the short TTL
            proxy.resume()
            eventually(lambda: refused(client, late), "the replay evicts the suspended key")
            assert client.live_state == LiveState.LIVE
    finally:
        proxy.close()
    streams = [h for h in proxy.heads if h.startswith(b"GET /api/guest/serviceapikey/events")]
    assert b"last-event-id: " in streams[-1].lower()
    assert b"last-event-id" not in streams[0].lower()


def test_a_refused_token_stops_the_following_and_keeps_the_short_ttl(
    server: LiveServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with KeyvendClient(server.url, app_token="not-a-token", live=True, clock=clock) as client:
        with pytest.raises(Unauthorized):
            client.check("ANY-KEY")
        eventually(lambda: client.live_state == LiveState.UNAUTHORIZED, "the follower stops")
    assert caplog.text.count("refused the application token on the revocation stream") == 1
