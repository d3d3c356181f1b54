"""Benchmark the key check on PostgreSQL: ratio to the bare endpoint, and behind added latency.

    .venv/bin/python -m bench.postgres_check --keys 10000 --workers 1,2 --delay-ms 1

One PostgreSQL schema of N keys, served by `keyvend serve` on 1 and on 2 workers, plus the
bare Starlette endpoint on the same worker counts (httptools + uvloop), and one more server
of 1 worker that reaches PostgreSQL through a small delaying TCP proxy (threads of this
process, started and stopped here: the kernel has no `netem`) that holds every chunk
`--delay-ms`/2 in each direction, so each round trip to the database costs `--delay-ms` more.
Drives every target with wrk in rounds (bench.check.drive) and prints each check's median
per-round ratio to the bare endpoint of the same worker count. Needs `wrk`.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import socket
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

from bench.check import (
    HERE,
    bare_command,
    drive,
    free_port,
    keyvend_command,
    lua_script,
    seeded,
    served,
)

PG_HOST, PG_PORT = "127.0.0.1", 5432
DELAYED = "check, +{delay} ms RTT, 1 worker(s)"


def _pump(source: socket.socket, target: socket.socket, delay: float) -> None:
    """Copy `source` to `target`, each chunk `delay` seconds late, in order (two threads:
    one reads, one sends when each chunk is due)."""
    chunks: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

    def send() -> None:
        with suppress(OSError):
            while data := (item := chunks.get())[1]:
                time.sleep(max(0.0, item[0] - time.perf_counter()))
                target.sendall(data)
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    with suppress(OSError):
        while data := source.recv(65536):
            chunks.put((time.perf_counter() + delay, data))
    chunks.put((0.0, b""))
    sender.join()


class DelayProxy:
    """A TCP proxy to PostgreSQL adding `delay` seconds each way.

    Threads, not asyncio: an event loop's timers have a resolution of about 1 ms (epoll),
    too coarse for half a millisecond each way; `time.sleep` is precise to tens of µs."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        for sock in list(self._open):
            with suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        with suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                threading.Thread(target=self._connection, args=(client,), daemon=True).start()

    def _connection(self, client: socket.socket) -> None:
        with suppress(OSError), client, socket.create_connection((PG_HOST, PG_PORT)) as upstream:
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._open.add(sock)
            back = threading.Thread(target=_pump, args=(upstream, client, self.delay))
            back.start()
            _pump(client, upstream, self.delay)
            back.join()


def measured_round_trip(proxy: DelayProxy) -> float:
    """The round trip of a `SELECT 1` to PostgreSQL through the proxy, in ms (mean of 20)."""
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{proxy.port}/test") as conn:
        started = time.perf_counter()
        for _ in range(20):
            conn.execute("SELECT 1").fetchall()
        return (time.perf_counter() - started) / 20 * 1000


def run(args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        env, sample, seed_seconds = seeded("postgres", args.keys, stack)
        script_dir = Path(tempfile.mkdtemp(prefix="keyvend-bench-lua-"))
        stack.callback(shutil.rmtree, script_dir, ignore_errors=True)
        script = lua_script(sample, script_dir / "keys.lua")
        bare_env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
        ports: dict[str, int] = {}
        for workers in args.workers:
            ports[f"check, {workers} worker(s)"] = port = free_port()
            stack.enter_context(served(keyvend_command(port, workers), port, env))
            ports[f"bare endpoint, {workers} worker(s)"] = port = free_port()
            stack.enter_context(served(bare_command(port, workers), port, bare_env))
        rtt = None
        if args.delay_ms > 0:
            proxy = stack.enter_context(DelayProxy(args.delay_ms / 2000))
            rtt = measured_round_trip(proxy)
            url = env["KEYVEND_DATABASE_URL"].replace(f":{PG_PORT}/", f":{proxy.port}/")
            ports[DELAYED.format(delay=args.delay_ms)] = port = free_port()
            delayed_env = {**env, "KEYVEND_DATABASE_URL": url}
            stack.enter_context(served(keyvend_command(port, 1), port, delayed_env))
        runs = drive(args, ports, dict.fromkeys(ports, script))
    return {"runs": runs, "seed_seconds": round(seed_seconds, 1), "proxy_rtt_ms": rtt}


def ratio(runs: dict[str, Any], a: str, b: str) -> float:
    pairs = zip(runs[a][32], runs[b][32], strict=True)
    return round(statistics.median(x["rps"] / y["rps"] for x, y in pairs), 3)


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    runs = results["runs"]
    print(
        f"postgres, {args.keys} keys: medians of {args.rounds} rounds of {args.seconds} s "
        f"per target (seeded in {results['seed_seconds']} s)"
    )
    if results["proxy_rtt_ms"] is not None:
        print(f"  round trip through the delaying proxy: {results['proxy_rtt_ms']:.2f} ms")
    for name, by_connections in runs.items():
        rps = statistics.median(r["rps"] for r in by_connections[32])
        p50 = statistics.median(r["p50_ms"] for r in by_connections[32])
        p99 = statistics.median(r["p99_ms"] for r in by_connections[32])
        p50_4 = statistics.median(r["p50_ms"] for r in by_connections[4])
        line = (
            f"  {name:<30} {rps:8.0f} req/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms"
            f" | 4 conn p50 {p50_4:.2f} ms"
        )
        if name.startswith("check"):
            workers = "2 worker(s)" if name.endswith("2 worker(s)") else "1 worker(s)"
            line += (
                f" | ratio to bare ({workers}) {ratio(runs, name, f'bare endpoint, {workers}'):.3f}"
            )
        print(line)
    print("JSON " + json.dumps({"args": vars(args), **results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument(
        "--workers", type=lambda text: [int(n) for n in text.split(",")], default=[1, 2]
    )
    parser.add_argument("--delay-ms", type=float, default=1.0, help="added round trip (0: none)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    report(args, run(args))


if __name__ == "__main__":
    main()
