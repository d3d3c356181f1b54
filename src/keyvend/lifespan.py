"""What each server process runs beside its requests, from start to stop.

- The key feed (`services.key_feed`): follows the events so that this process's key cache
  and revocation-stream connections hear of every change.
- The usage flush (`services.usage`): the key usage counted in memory is written every
  `usage_flush_interval` seconds, and once more when the process stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

import anyio.to_thread
from starlette.applications import Starlette

from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.services import usage
from keyvend.services.key_feed import KeyFeed


def of_server_process(
    db: Database, settings: Settings
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """The lifespan of a server process (see the module docstring)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        feed: KeyFeed = app.state.key_feed
        feed.start()
        flusher = asyncio.create_task(_flush_every(db, settings.usage_flush_interval))
        try:
            yield
        finally:
            flusher.cancel()
            with suppress(asyncio.CancelledError):
                await flusher
            await _flush_usage(db)
            await anyio.to_thread.run_sync(feed.stop)

    return lifespan


async def _flush_every(db: Database, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await _flush_usage(db)


async def _flush_usage(db: Database) -> None:
    """One flush in a worker thread (it waits on the database); a failure is logged by
    `usage.flush`, which keeps the counts for the next one, and never stops the server."""
    with suppress(Exception):
        await anyio.to_thread.run_sync(usage.flush, db)
