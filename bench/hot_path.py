"""The key check's own cost, in process: no sockets, no HTTP server, no load generator.

    .venv/bin/python -m bench.hot_path --keys 10000
    .venv/bin/python -m bench.hot_path --backend postgres   # PostgreSQL on 127.0.0.1

Calls the ASGI app directly with a check request and times, in interleaved rounds, the whole
check, the bare Starlette endpoint of `bench.bare_app`, and the check's parts (key digest,
key-index probe, service call, and the service call with usage counting switched off, whose
difference is what counting usage costs a check). Prints the median microseconds per call
of each. Far less noisy than a wrk run, so it is the yardstick for changes to the hot path;
wrk (`bench.check`) remains the measure of what a client sees.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.bare_app import app as bare_app
from bench.check import SECRET, database
from bench.seed import seed_keys
from keyvend.app import build_database, create_app
from keyvend.config import Settings
from keyvend.db.migrate import upgrade
from keyvend.services import extension, serviceapikey

PATH = "/api/guest/serviceapikey/check"


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _call(app: Any, body: bytes) -> bytes:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(_scope(body), receive, send)
    return bytes(sent[-1]["body"])


def _time_async(fn: Callable[[int], Awaitable[None]], calls: int) -> float:
    started = time.perf_counter()
    asyncio.run(fn(calls))
    return (time.perf_counter() - started) / calls * 1e6


def _time_sync(fn: Callable[[int], None], calls: int) -> float:
    started = time.perf_counter()
    fn(calls)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=5_000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="keyvend-hotpath-"))
    try:
        with database(args.backend) as url:
            results = run(args, data_dir, url)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(
        f"backend={args.backend} keys={args.keys}: "
        f"median of {args.rounds} rounds x {args.calls} calls"
    )
    for name, samples in results.items():
        print(f"  {name:<32} {statistics.median(samples):7.2f} us/call")
    check = statistics.median(results["check (ASGI app)"])
    bare = statistics.median(results["bare endpoint (ASGI app)"])
    print(f"  check minus bare endpoint        {check - bare:7.2f} us/call")
    counted = statistics.median(results["serviceapikey.check"])
    uncounted = statistics.median(results["serviceapikey.check, usage off"])
    print(f"  usage counting per check         {counted - uncounted:7.2f} us/call")


def run(args: argparse.Namespace, data_dir: Path, url: str | None) -> dict[str, list[float]]:
    settings = Settings(
        data_dir=data_dir,
        secret_key=SECRET,
        database_url=url,
        rate_limit_whitelist=["127.0.0.1"],
    )
    db = build_database(settings)
    try:
        upgrade(db.engine)
        extension.ensure_installed(db)
        keys = seed_keys(db, args.keys)
        app = create_app(settings, database=db)
        bodies = [json.dumps({"key": key}).encode() for key in keys]
        assert asyncio.run(_call(app, bodies[0])) == b'{"result":true,"error":null}'
        return measure(app, db, keys, bodies, args)
    finally:
        db.dispose()


def measure(
    app: Any, db: Any, keys: list[str], bodies: list[bytes], args: argparse.Namespace
) -> dict[str, list[float]]:
    rng = random.Random(7)
    order = [rng.randrange(len(keys)) for _ in range(args.calls)]
    digests = [db.vault.key_digest(keys[i]) for i in order]

    async def via(app_: Any, calls: int) -> None:
        for i in order[:calls]:
            await _call(app_, bodies[i])

    async def check_app(calls: int) -> None:
        await via(app, calls)

    async def bare(calls: int) -> None:
        await via(bare_app, calls)

    def service(calls: int) -> None:
        for i in order[:calls]:
            serviceapikey.check(db, keys[i])

    def probe(calls: int) -> None:
        for digest in digests[:calls]:
            db.keys.find(digest, extension.APIKEY)

    def digest(calls: int) -> None:
        for i in order[:calls]:
            db.vault.key_digest(keys[i])

    def service_without_usage(calls: int) -> None:
        tally, db.usage = db.usage, _NoTally()
        try:
            service(calls)
        finally:
            db.usage = tally

    now = db.clock()

    def count(calls: int) -> None:
        for i in order[:calls]:
            db.usage.count(i, "VALID", now)

    results: dict[str, list[float]] = {
        "check (ASGI app)": [],
        "bare endpoint (ASGI app)": [],
        "serviceapikey.check": [],
        "key index probe": [],
        "key digest": [],
        "serviceapikey.check, usage off": [],
        "usage tally count": [],
    }
    for _ in range(args.rounds):
        results["check (ASGI app)"].append(_time_async(check_app, args.calls))
        results["bare endpoint (ASGI app)"].append(_time_async(bare, args.calls))
        results["serviceapikey.check"].append(_time_sync(service, args.calls))
        results["key index probe"].append(_time_sync(probe, args.calls))
        results["key digest"].append(_time_sync(digest, args.calls))
        results["serviceapikey.check, usage off"].append(
            _time_sync(service_without_usage, args.calls)
        )
        results["usage tally count"].append(_time_sync(count, args.calls))
        db.usage.drain()
    return results


class _NoTally:
    """A usage tally that counts nothing: the check's cost without usage counting."""

    def count(self, order_id: int, outcome: str, now: Any) -> None:
        return None


if __name__ == "__main__":
    main()
