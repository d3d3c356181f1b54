"""AsyncKeyvendClient's live mode against a real server: the same contract, in a task."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial

import pytest

from conftest import FakeClock, Seed
from keyvend_client import AsyncKeyvendClient, KeyNotFound, LiveState
from keyvend_live import LiveServer
from keyvend_network import TcpProxy

pytestmark = pytest.mark.anyio
DEADLINE = 10.0


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Await `condition` until it holds; fail after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not await condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE} s: {what}"
        await asyncio.sleep(0.01)


async def refused(client: AsyncKeyvendClient, key: str) -> bool:
    try:
        return await client.check(key) is False
    except KeyNotFound:
        return True


async def is_live(client: AsyncKeyvendClient) -> bool:
    return client.live_state == LiveState.LIVE


def live_client(url: str, token: str, clock: FakeClock) -> AsyncKeyvendClient:
    return AsyncKeyvendClient(url, app_token=token, live=True, cache_ttl=30, clock=clock)


async def test_a_suspend_and_a_reset_reach_an_async_client_in_live_mode(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    admin = seed.admin.at(server.url)
    suspended_order, suspended = seed.new_order()
    reset_order, reset = seed.new_order()
    async with live_client(server.url, seed.app_token, clock) as client:
        await eventually(partial(is_live, client), "the stream is live")
        assert await client.check(suspended) and await client.check(reset)
        await asyncio.to_thread(admin, "order/suspend", id=suspended_order, reason="unpaid")
        await eventually(partial(refused, client, suspended), "the suspended key is refused")
        assert await client.check(reset) is True
        await asyncio.to_thread(admin, "serviceapikey/reset", order_id=reset_order)
        await eventually(partial(refused, client, reset), "the reset key is refused")
    assert client.live_state == LiveState.CLOSED
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "keyvend-live"]


async def test_an_async_client_falls_back_while_down_and_replays_on_reconnect(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    admin = seed.admin.at(server.url)
    order_id, key = seed.new_order()
    proxy = TcpProxy(server.url)
    try:
        async with live_client(proxy.url, seed.app_token, clock) as client:
            await eventually(partial(is_live, client), "the stream is live")
            assert await client.check(key) is True
            proxy.cut()

            async def down() -> bool:
                return client.live_state == LiveState.DOWN

            await eventually(down, "the client sees the cut")
            await asyncio.to_thread(admin, "order/suspend", id=order_id, reason="unpaid")
            assert await client.check(key) is True  # unheard; fresh under the short TTL
            proxy.resume()
            await eventually(partial(refused, client, key), "the replay evicts the key")
    finally:
        proxy.close()
    streams = [h for h in proxy.heads if h.startswith(b"GET /api/guest/serviceapikey/events")]
    assert b"last-event-id: " in streams[-1].lower()
