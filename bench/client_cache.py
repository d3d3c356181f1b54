"""What a key check costs an application using `keyvend_client`: cached versus uncached.

    .venv/bin/pip install -e clients/python
    .venv/bin/python -m bench.client_cache [--cached 200000] [--uncached 2000]

Serves a real Keyvend app (uvicorn, rate limiting off, SQLite in a temp dir) in a thread of
this process, then times single checks of one key: answered from the client's cache, and with
the cache off (`cache_ttl=0`, one HTTP round trip to the local server each), for the sync and
the async client. Prints the median per check, with the mean and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from keyvend_client import AsyncKeyvendClient, KeyvendClient

from bench.seed import seed_keys
from keyvend.app import build_database, create_app
from keyvend.config import Settings
from keyvend.db.migrate import upgrade
from keyvend.services import extension

SECRET = "bench-secret-" + "k" * 40


@contextmanager
def keyvend_server(data_dir: Path) -> Iterator[tuple[str, str]]:
    """A seeded Keyvend server in a thread: yields (base URL, a valid key)."""
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'keyvend.db'}",
        secret_key=SECRET,
        rate_limit_enabled=False,
    )
    db = build_database(settings)
    upgrade(db.engine)
    extension.ensure_installed(db)
    key = seed_keys(db, 1, sample=1)[0]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    config = uvicorn.Config(create_app(settings, database=db), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", key
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def time_sync(check: Callable[[], object], runs: int) -> list[int]:
    """Nanoseconds of each of `runs` calls."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(runs):
        start = clock()
        check()
        samples.append(clock() - start)
    return samples


async def time_async(check: Callable[[], Awaitable[object]], runs: int) -> list[int]:
    """Nanoseconds of each of `runs` awaited calls."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(runs):
        start = clock()
        await check()
        samples.append(clock() - start)
    return samples


def report(name: str, samples: list[int]) -> None:
    ordered = sorted(samples)
    median = statistics.median(ordered) / 1000
    mean = statistics.fmean(ordered) / 1000
    p99 = ordered[int(len(ordered) * 0.99)] / 1000
    print(
        f"{name:<22} median {median:9.2f} us   mean {mean:9.2f} us   p99 {p99:9.2f} us"
        f"   ({len(samples)} checks)"
    )


async def async_samples(url: str, key: str, cached: int, uncached: int) -> None:
    async with AsyncKeyvendClient(url) as client:
        await client.check(key)
        report("async cached check", await time_async(lambda: client.check(key), cached))
    async with AsyncKeyvendClient(url, cache_ttl=0) as client:
        await client.check(key)  # connection set up outside the timing
        report("async uncached check", await time_async(lambda: client.check(key), uncached))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cached", type=int, default=200_000, help="Cached checks to time.")
    parser.add_argument("--uncached", type=int, default=2_000, help="Uncached checks to time.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, keyvend_server(Path(tmp)) as (url, key):
        with KeyvendClient(url) as client:
            assert client.check(key) is True
            report("sync cached check", time_sync(lambda: client.check(key), args.cached))
        with KeyvendClient(url, cache_ttl=0) as client:
            client.check(key)
            report("sync uncached check", time_sync(lambda: client.check(key), args.uncached))
        asyncio.run(async_samples(url, key, args.cached, args.uncached))


if __name__ == "__main__":
    main()
