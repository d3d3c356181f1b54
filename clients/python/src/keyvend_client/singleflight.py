"""Coalescing: concurrent lookups of the same key share one request and its outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Flight(Generic[T]):
    future: Future[T] = field(default_factory=Future)
    followers: int = 0


class SingleFlight(Generic[T]):
    """For threads: the first caller of a key runs `fn`, callers arriving meanwhile wait for it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._flights: dict[str, _Flight[T]] = {}

    def run(self, key: str, fn: Callable[[], T]) -> T:
        """`fn()`, or the outcome of the call of `fn` already running for `key`."""
        with self._changed:
            flight = self._flights.get(key)
            leading = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            else:
                flight.followers += 1
                self._changed.notify_all()
        if not leading:
            return flight.future.result()
        try:
            flight.future.set_result(fn())
        except BaseException as exc:  # followers must never wait forever
            flight.future.set_exception(exc)
        finally:
            with self._changed:
                del self._flights[key]
        return flight.future.result()

    def wait_for_followers(self, key: str, count: int, timeout: float) -> bool:
        """Block until `count` callers wait on the running call for `key` (False on timeout)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._followers(key) >= count, timeout)

    def _followers(self, key: str) -> int:
        flight = self._flights.get(key)
        return 0 if flight is None else flight.followers


class AsyncSingleFlight(Generic[T]):
    """For one asyncio event loop: concurrent callers of a key await one shared task.

    A caller that is cancelled does not cancel the shared task: the others still get its outcome.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[T]] = {}

    async def run(self, key: str, fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """`await fn()`, or the outcome of the task already running for `key`."""
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(fn())
            self._tasks[key] = task
            task.add_done_callback(partial(self._finished, key))
        return await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Task[T]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled():
            task.exception()  # retrieved here in case every caller was cancelled
