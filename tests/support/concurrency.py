"""Running things truly at once: every task on its own thread, released by one barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def at_once(tasks: list[Callable[[], Any]]) -> list[Any]:
    """Start every task on its own thread behind one barrier; results or exceptions."""
    barrier = threading.Barrier(len(tasks))

    def run(task: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return task()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        return list(pool.map(run, tasks))


def all_at_once(tasks: list[Callable[[], Any]]) -> list[Any]:
    """`at_once`, but the first task that failed raises its exception here."""
    results = at_once(tasks)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results
