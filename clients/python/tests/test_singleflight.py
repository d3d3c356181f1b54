"""Coalescing: one call per key at a time, its outcome shared by every caller."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from keyvend_client.singleflight import AsyncSingleFlight, SingleFlight


def test_followers_share_the_leaders_exception_and_nobody_hangs() -> None:
    flight: SingleFlight[int] = SingleFlight()
    go = threading.Event()

    def failing() -> int:
        go.wait(timeout=30)
        raise LookupError("boom")

    with ThreadPoolExecutor(max_workers=5) as pool:
        calls = [pool.submit(flight.run, "k", failing) for _ in range(5)]
        assert flight.wait_for_followers("k", 4, timeout=30)
        go.set()
        for call in calls:
            with pytest.raises(LookupError, match="boom"):
                call.result(timeout=30)


def test_a_finished_flight_is_not_reused() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls = iter(range(10))
    assert [flight.run("k", lambda: next(calls)) for _ in range(3)] == [0, 1, 2]


def test_different_keys_do_not_wait_for_each_other() -> None:
    flight: SingleFlight[str] = SingleFlight()
    inner = flight.run("b", lambda: "b")
    assert flight.run("a", lambda: inner + "a") == "ba"


@pytest.mark.anyio
async def test_a_cancelled_caller_does_not_cancel_the_shared_call() -> None:
    flight: AsyncSingleFlight[str] = AsyncSingleFlight()
    started, go = asyncio.Event(), asyncio.Event()
    runs = 0

    async def slow() -> str:
        nonlocal runs
        runs += 1
        started.set()
        await go.wait()
        return "answer"

    impatient = asyncio.create_task(flight.run("k", slow))
    patient = asyncio.create_task(flight.run("k", slow))
    await started.wait()  # the shared task runs only after both callers joined it
    impatient.cancel()
    go.set()
    assert await patient == "answer"
    assert impatient.cancelled()
    assert runs == 1


@pytest.mark.anyio
async def test_every_async_caller_gets_the_shared_exception() -> None:
    flight: AsyncSingleFlight[str] = AsyncSingleFlight()

    async def failing() -> str:
        raise LookupError("boom")

    outcomes = await asyncio.gather(
        *(flight.run("k", failing) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(outcome, LookupError) for outcome in outcomes)
