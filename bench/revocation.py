"""Benchmark the revocation lag: a change on one server, the answer changing elsewhere.

    .venv/bin/python -m bench.revocation --changes 200 --backend postgres,sqlite

Two `keyvend serve` processes on one database (PostgreSQL: a schema of its own, the servers
hear of changes through LISTEN/NOTIFY; SQLite: one file, each process polls the events
table, as the workers of `serve --workers 2` do), and one `serve --workers 2` on SQLite
(A and B are then two kept-alive connections, which the kernel may give to one worker).
For each of `--changes` changes made through server A (suspend and unsuspend, alternately,
of one key that B has cached), from the moment A's API response arrives:
- server to server: B's `check`, asked again and again on one kept-alive connection, until
  it answers the new state;
- stream: a message about the key arriving at a subscriber of B's revocation stream;
- live client (`keyvend_client.KeyvendClient(B, app_token=..., live=True)`, its answer
  cached before each change): `check` asked again and again until it answers the new state
  (answered from its cache until the stream evicts the key).
Prints the median, p99 and max of each lag in milliseconds. Check latency counts in the
first and the last figure (the answer has to come back); the stream's message can arrive
before A's response does (a negative lag, kept as measured).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from bench.check import SECRET, database, free_port, served
from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.migrate import upgrade
from keyvend.domain.event_types import fingerprint
from keyvend.schemas.account import StaffCreate
from keyvend.services import application, extension, staff

STREAM = "/api/guest/serviceapikey/events"
SQLITE_WORKERS = "sqlite-workers"  # one `serve --workers 2`: A and B are its two connections
DEADLINE = 10.0  # seconds a change may take to show before the run is declared broken


class Server:
    """One server's API over a kept-alive connection."""

    def __init__(self, base: str, admin_token: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=10, auth=("admin", admin_token))

    def admin(self, path: str, **params: Any) -> Any:
        body = self.http.post(f"/api/admin/{path}", json=params).json()
        if body["error"] is not None:
            raise RuntimeError(body["error"])
        return body["result"]

    def check(self, key: str) -> bool:
        body = self.http.post("/api/guest/serviceapikey/check", json={"key": key}).json()
        return bool(body["result"])


def prepared(settings: Settings) -> tuple[str, str]:
    """Migrate and install; (admin token, application token)."""
    db = build_database(settings)
    try:
        upgrade(db.engine)
        extension.ensure_installed(db)
        admin = staff.create_admin(db, StaffCreate(email="bench@example.com")).api_token
        return admin, application.create(db, name="bench").token
    finally:
        db.dispose()


@contextmanager
def two_servers(backend: str) -> Iterator[tuple[Server, Server, str]]:
    """Servers A and B on one database: (A, B, application token)."""
    with ExitStack() as stack:
        data_dir = Path(tempfile.mkdtemp(prefix="keyvend-bench-revocation-"))
        stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
        url = stack.enter_context(database("postgres" if backend == "postgres" else "sqlite"))
        if url is None:  # both on the one SQLite file
            url = f"sqlite:///{data_dir / 'keyvend.db'}"
        admin, app_token = prepared(
            Settings(data_dir=data_dir, secret_key=SECRET, database_url=url)
        )
        servers = []
        workers = 2 if backend == SQLITE_WORKERS else 1
        for name in "a" if workers == 2 else "ab":
            port = free_port()
            env = {
                **os.environ,
                "KEYVEND_DATA_DIR": str(data_dir / name),
                "KEYVEND_DATABASE_URL": url,
                "KEYVEND_SECRET_KEY": SECRET,
                "KEYVEND_RATE_LIMIT_ENABLED": "false",
                "KEYVEND_WORKER_INTERVAL": "0",
                "KEYVEND_LOG_LEVEL": "warning",
            }
            command = [sys.executable, "-m", "keyvend.cli", "serve", "--port", str(port)]
            stack.enter_context(served([*command, "--workers", str(workers)], port, env))
            servers.append(f"http://127.0.0.1:{port}")
        a, b = Server(servers[0], admin), Server(servers[-1], admin)  # one connection each
        stack.callback(a.http.close)
        stack.callback(b.http.close)
        yield a, b, app_token


class Subscriber:
    """Reads B's revocation stream on a thread; notes when each message about a key came."""

    def __init__(self, base: str, app_token: str) -> None:
        self._url = base + STREAM
        self._headers = {"Authorization": f"Bearer {app_token}"}
        self.arrivals: list[tuple[float, str | None]] = []  # (perf_counter, fingerprint)
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Subscriber:
        self._thread.start()
        if not self.ready.wait(DEADLINE):
            raise RuntimeError("the stream did not get ready")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(DEADLINE)

    def since(self, seen: int, fingerprint_: str, wait: float = DEADLINE) -> float:
        """The first arrival about `fingerprint_` after the first `seen` ones, waiting for it."""
        deadline = time.perf_counter() + wait
        while time.perf_counter() < deadline:
            for at, fp in self.arrivals[seen:]:
                if fp == fingerprint_:
                    return at
            time.sleep(0.0005)
        raise RuntimeError("no stream message about the key")

    def _run(self) -> None:
        timeout = httpx.Timeout(10.0, read=None)
        with (
            suppress(httpx.HTTPError),
            httpx.Client(timeout=timeout) as http,
            http.stream("GET", self._url, headers=self._headers) as response,
        ):
            if response.status_code != 200:
                raise RuntimeError(f"stream answered {response.status_code}")
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event: ready"):
                    self.ready.set()
                elif line.startswith("data: "):
                    now = time.perf_counter()
                    data = json.loads(line[len("data: ") :])
                    if "fingerprint" in data:
                        self.arrivals.append((now, data["fingerprint"]))


def _until_changed(check: Callable[[], bool], before: bool) -> float:
    """Ask `check` until it answers other than `before`; the moment it did (perf_counter)."""
    deadline = time.perf_counter() + DEADLINE
    while check() == before:
        if time.perf_counter() > deadline:
            raise RuntimeError("the answer did not change")
    return time.perf_counter()


def toggle(a: Server, order_id: int, valid: bool) -> float:
    """Suspend (when valid) or unsuspend through A; the moment A's response arrived."""
    a.admin("order/suspend" if valid else "order/unsuspend", id=order_id)
    return time.perf_counter()


def server_lags(a: Server, b: Server, app_token: str, changes: int) -> dict[str, list[float]]:
    """Server-to-server and stream lags (seconds) over `changes` changes."""
    order_id, key = sell(a)
    lags: dict[str, list[float]] = {"server to server": [], "stream (SSE)": []}
    with Subscriber(b.base, app_token) as subscriber:
        valid = True
        for _ in range(changes):
            assert b.check(key) is valid  # B has the current answer cached
            seen = len(subscriber.arrivals)
            answered = toggle(a, order_id, valid)
            changed = _until_changed(lambda: b.check(key), valid)
            lags["server to server"].append(changed - answered)
            arrived = subscriber.since(seen, fingerprint(key))
            lags["stream (SSE)"].append(arrived - answered)
            valid = not valid
    return lags


def client_lags(a: Server, b: Server, app_token: str, changes: int) -> dict[str, list[float]]:
    """Change on A -> a live client library (following B) refusing the key (seconds)."""
    from keyvend_client import KeyvendClient, LiveState

    order_id, key = sell(a)
    client = KeyvendClient(b.base, app_token=app_token, live=True, cache_ttl=30.0)
    lags: list[float] = []
    try:
        client.check(key)  # starts following the stream
        deadline = time.perf_counter() + DEADLINE
        while client.live_state != LiveState.LIVE:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"live mode did not get live: {client.live_state}")
            time.sleep(0.001)
        valid = True
        for _ in range(changes):
            _until_changed(lambda: client.check(key), not valid)  # cached with this answer
            answered = toggle(a, order_id, valid)
            changed = _until_changed(lambda: client.check(key), valid)
            lags.append(changed - answered)
            valid = not valid
    finally:
        client.close()
    return {"live client library": lags}


def sell(a: Server) -> tuple[int, str]:
    pid = a.admin("product/prepare", title="Bench", type="apikey")
    cid = a.admin("client/create", email=f"c{time.time_ns()}@example.com", first_name="C")
    oid = a.admin("order/create", client_id=cid, product_id=pid, activate=True)
    return oid, a.admin("order/service", id=oid)["api_key"]


def stats(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, max(0, round(0.99 * len(ms)) - 1))]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(ms[-1], 2),
    }


def run(backend: str, changes: int, with_client: bool) -> dict[str, Any]:
    with two_servers(backend) as (a, b, app_token):
        lags = server_lags(a, b, app_token, changes)
        if with_client:
            try:
                lags |= client_lags(a, b, app_token, changes)
            except (ImportError, TypeError) as exc:  # a client library without live mode
                print(f"  live client library: not measured ({exc!r})")
    return {name: stats(values) for name, values in lags.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backend",
        default=f"postgres,sqlite,{SQLITE_WORKERS}",
        help=f"comma separated: postgres, sqlite (two servers on one file), {SQLITE_WORKERS} "
        "(one server of two workers; A's and B's connections may land on one worker)",
    )
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--no-client", action="store_true", help="skip the live client library")
    args = parser.parse_args()
    results = {}
    for backend in args.backend.split(","):
        servers = (
            "one server, 2 workers" if backend == SQLITE_WORKERS else "two servers, one database"
        )
        print(f"{backend}: {servers}, {args.changes} changes (suspend/unsuspend)")
        results[backend] = run(backend, args.changes, not args.no_client)
        for name, row in results[backend].items():
            print(
                f"  {name:<22} median {row['median_ms']:7.2f} ms  p99 {row['p99_ms']:7.2f} ms"
                f"  max {row['max_ms']:7.2f} ms  (n={row['n']})"
            )
    print("JSON " + json.dumps({"args": vars(args), "results": results}))


if __name__ == "__main__":
    main()
