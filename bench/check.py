"""Benchmark the key check against a bare Starlette endpoint, both served the same way.

    .venv/bin/python -m bench.check --backend sqlite --keys 10000 --workers 1

Seeds N keys, starts `keyvend serve` and the bare app with uvicorn (httptools + uvloop),
drives both with wrk at 32 and 4 connections using the same Lua script (random seeded keys),
and prints requests/s, p50/p99 latency, the ratio to the bare endpoint, keys generated per
second and the peak RSS of every worker. Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench.seed import seed_keys
from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.migrate import upgrade
from keyvend.domain.keygen import KeyFormat, generate_key
from keyvend.services import extension

HERE = Path(__file__).parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-" + "k" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@contextmanager
def served(cmd: list[str], port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        wait_listening(port, proc)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def worker_rss_mb(root: int) -> list[float]:
    """Peak RSS (VmHWM) of the serving processes: the workers, or the one process."""
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(root)], capture_output=True, text=True
    ).stdout.split()
    children = [int(p) for p in out]
    grandchildren = []
    for child in children:
        more = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(child)], capture_output=True, text=True
        ).stdout.split()
        grandchildren += [int(p) for p in more]
    pids = grandchildren or children or [root]
    # keyvend serve -> (uvicorn supervisor ->) workers; the leaf processes serve.
    result = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if (
            match
            and "multiprocessing.resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
        ):
            result.append(int(match.group(1)) / 1024)
    return result


def wrk(port: int, script: Path, connections: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2" if connections > 1 else "1",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/api/guest/serviceapikey/check",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _latency(out, "50%"),
        "p99_ms": _latency(out, "99%"),
        "errors": float(bool(re.search(r"Non-2xx|Socket errors", out))),
    }


def _latency(out: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)\b", out)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def lua_script(keys: list[str], path: Path) -> Path:
    body = ",".join(json.dumps(json.dumps({"key": k})) for k in keys)
    path.write_text(
        f"local bodies = {{{body}}}\n"
        "wrk.method = 'POST'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        "request = function()\n"
        "  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])\n"
        "end\n"
        "response = function(status, headers, body)\n"
        "  if status ~= 200 or not string.find(body, '\"result\":true') then\n"
        "    wrk.thread:stop()\n"
        "  end\n"
        "end\n"
    )
    return path


def keygen_rate() -> float:
    fmt = KeyFormat()
    seconds = min(timeit.repeat(lambda: generate_key(fmt), number=20_000, repeat=5))
    return 20_000 / seconds


@contextmanager
def database(backend: str, data_dir: Path) -> Iterator[str | None]:
    if backend == "sqlite":
        yield None
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="keyvend-bench-"))
    try:
        with database(args.backend, data_dir) as url:
            env = {
                **os.environ,
                "KEYVEND_DATA_DIR": str(data_dir),
                "KEYVEND_SECRET_KEY": SECRET,
                "KEYVEND_RATE_LIMIT_WHITELIST": "127.0.0.1",
                "KEYVEND_LOG_LEVEL": "warning",
            }
            if url:
                env["KEYVEND_DATABASE_URL"] = url
            settings = Settings(data_dir=data_dir, secret_key=SECRET, database_url=url)
            db = build_database(settings)
            upgrade(db.engine)
            extension.ensure_installed(db)
            started = time.perf_counter()
            keys = seed_keys(db, args.keys)
            seeded = time.perf_counter() - started
            db.dispose()
            script = lua_script(keys, data_dir / "check.lua")
            return measure(args, env, script) | {"seed_seconds": round(seeded, 1)}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def measure(args: argparse.Namespace, env: dict[str, str], script: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    port = free_port()
    keyvend = [
        sys.executable,
        "-m",
        "keyvend.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    with served(keyvend, port, env) as proc:
        wrk(port, script, 32, 2)  # warm-up
        results["keyvend_32"] = wrk(port, script, 32, args.seconds)
        results["keyvend_4"] = wrk(port, script, 4, args.seconds)
        results["rss_mb"] = worker_rss_mb(proc.pid)
    port = free_port()
    bare = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with served(bare, port, {**env, "PYTHONPATH": str(HERE.parent)}):
        wrk(port, script, 32, 2)
        results["bare_32"] = wrk(port, script, 32, args.seconds)
        results["bare_4"] = wrk(port, script, 4, args.seconds)
    results["ratio"] = round(results["keyvend_32"]["rps"] / results["bare_32"]["rps"], 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    results = run(args)
    k32, b32, k4 = results["keyvend_32"], results["bare_32"], results["keyvend_4"]
    print(
        f"backend={args.backend} keys={args.keys} workers={args.workers} "
        f"(seeded in {results['seed_seconds']}s)"
    )
    print(
        f"  keyvend check  32 conn: {k32['rps']:9.0f} req/s  p50 {k32['p50_ms']:.2f} ms  "
        f"p99 {k32['p99_ms']:.2f} ms"
    )
    print(
        f"  bare endpoint  32 conn: {b32['rps']:9.0f} req/s  p50 {b32['p50_ms']:.2f} ms  "
        f"p99 {b32['p99_ms']:.2f} ms"
    )
    print(
        f"  keyvend check   4 conn: {k4['rps']:9.0f} req/s  p50 {k4['p50_ms']:.2f} ms  "
        f"p99 {k4['p99_ms']:.2f} ms"
    )
    print(f"  ratio keyvend/bare (32 conn): {results['ratio']:.2f}")
    print(f"  peak RSS per worker: {', '.join(f'{r:.0f} MB' for r in results['rss_mb'])}")
    print(f"  keys generated per second (in-process): {keygen_rate():,.0f}")
    print("JSON " + json.dumps({"args": vars(args), **results}))


if __name__ == "__main__":
    main()
