"""Running database work so that a hung database never freezes a worker.

A worker's event loop answers everything: if a database call blocks it, every request of the
worker waits, `/healthz` and `/openapi.json` included. On SQLite a read never blocks (WAL),
so the key check runs inline, the fastest way. On PostgreSQL a round trip can hang (a network
partition, a paused server), so the check runs on a small pool of threads of its own, and
every other call in Starlette's thread pool; either way the request gives up after
`KEYVEND_DATABASE_TIMEOUT` seconds with a 503, and the stuck thread rejoins its pool by itself
once the database answers again.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
import anyio.to_thread

from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import DATABASE_UNAVAILABLE, ServiceUnavailable

T = TypeVar("T")
# Key checks on PostgreSQL: a few threads, each with its own connection (see `KeyIndex`),
# so round trips overlap without the GIL churn of Starlette's forty.
KEY_THREADS = 2
_key_threads: ThreadPoolExecutor | None = None


async def key_read(
    db: Database, read: Callable[[], T], *, metered: bool = False, cached: bool = False
) -> T:
    """`read()` (a key check) inline on SQLite, or when its key is `cached` (no database
    round trip); on PostgreSQL on a key thread, bounded. A `metered` read (a verify) also
    goes to a key thread when the quota meter is Redis: a network round trip must not stall
    the event loop, and two can overlap."""
    if not ((db.reads_block and not cached) or (metered and db.meter.remote)):
        return read()
    future = asyncio.get_running_loop().run_in_executor(_executor(), read)
    try:
        return await asyncio.wait_for(future, db.timeout)
    except TimeoutError:
        raise _unavailable(db) from None


# How much longer than the database timeout a call that talks to a payment gateway may take
# (Stripe: 10 s a try, with retries).
GATEWAY_WAIT = 40.0


async def in_thread(db: Database, work: Callable[[], T], *, gateway: bool = False) -> T:
    """`work()` in Starlette's thread pool; on PostgreSQL the request stops waiting after the
    database timeout (the thread finishes on its own once the database answers), or after
    GATEWAY_WAIT more seconds for work that calls a payment gateway."""
    if not db.reads_block:
        return await anyio.to_thread.run_sync(work)
    try:
        with anyio.fail_after(db.timeout + (GATEWAY_WAIT if gateway else 0)):
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except TimeoutError:
        raise _unavailable(db) from None


def _unavailable(db: Database) -> ServiceUnavailable:
    return ServiceUnavailable(DATABASE_UNAVAILABLE, retry_after=max(1, math.ceil(db.timeout)))


def _executor() -> ThreadPoolExecutor:
    global _key_threads
    if _key_threads is None:
        _key_threads = ThreadPoolExecutor(KEY_THREADS, thread_name_prefix="keyvend-keys")
    return _key_threads
