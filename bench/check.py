"""Benchmark the key check against a bare Starlette endpoint, both served the same way.

    .venv/bin/python -m bench.check --backend sqlite --keys 10000,1000000 --workers 1

Seeds one database per key count and starts `keyvend serve` on each, plus the bare app on the
same uvicorn stack (httptools + uvloop). Then drives every server with wrk, at 32 and at 4
connections, in rounds: each round runs every target once, in alternating order, so a machine
that speeds up or slows down during the run affects all targets alike. Prints the medians of
requests/s and p50/p99 latency, the median per-round ratio to the bare endpoint (and between
the largest and smallest key count), keys generated per second and the peak RSS of every
worker. Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
BARE = "bare endpoint"


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
def database(backend: str) -> Iterator[str | None]:
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


def seeded(
    backend: str, count: int, stack: ExitStack, *, limits: dict[str, object] | None = None
) -> tuple[dict[str, str], list[str], float]:
    """A fresh database with `count` keys: the server's environment, sample keys, seconds."""
    data_dir = Path(tempfile.mkdtemp(prefix="keyvend-bench-"))
    stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
    url = stack.enter_context(database(backend))
    env = {
        **os.environ,
        "KEYVEND_DATA_DIR": str(data_dir),
        "KEYVEND_SECRET_KEY": SECRET,
        "KEYVEND_RATE_LIMIT_WHITELIST": "127.0.0.1",
        "KEYVEND_LOG_LEVEL": "warning",
    }
    if url:
        env["KEYVEND_DATABASE_URL"] = url
    db = build_database(Settings(data_dir=data_dir, secret_key=SECRET, database_url=url))
    upgrade(db.engine)
    extension.ensure_installed(db)
    started = time.perf_counter()
    keys = seed_keys(db, count, limits=limits)
    seconds = time.perf_counter() - started
    db.dispose()
    os.sync()  # no writeback of the seeded pages competes with the measurement
    return env, keys, seconds


def keyvend_command(port: int, workers: int) -> list[str]:
    serve = ["-m", "keyvend.cli", "serve", "--port", str(port), "--workers", str(workers)]
    return [sys.executable, *serve]


def bare_command(port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the bare endpoint and one server per key count, then drive them in turns."""
    with ExitStack() as stack:
        script_dir = Path(tempfile.mkdtemp(prefix="keyvend-bench-lua-"))
        stack.callback(shutil.rmtree, script_dir, ignore_errors=True)
        ports: dict[str, int] = {}
        scripts: dict[str, Path] = {}
        procs: dict[str, subprocess.Popen[bytes]] = {}
        seed_seconds: dict[str, float] = {}
        for count in args.keys:
            env, sample, seconds = seeded(args.backend, count, stack)
            name = f"check, {count} keys"
            ports[name] = free_port()
            command = keyvend_command(ports[name], args.workers)
            procs[name] = stack.enter_context(served(command, ports[name], env))
            scripts[name] = lua_script(sample, script_dir / f"{count}.lua")
            seed_seconds[name] = round(seconds, 1)
        ports[BARE] = free_port()
        env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
        stack.enter_context(served(bare_command(ports[BARE], args.workers), ports[BARE], env))
        scripts[BARE] = next(iter(scripts.values()))
        runs = drive(args, ports, scripts)
        rss = {name: worker_rss_mb(proc.pid) for name, proc in procs.items()}
    return {"runs": runs, "rss_mb": rss, "seed_seconds": seed_seconds}


def drive(
    args: argparse.Namespace, ports: dict[str, int], scripts: dict[str, Path]
) -> dict[str, dict[int, list[dict[str, float]]]]:
    """Rounds of wrk runs, each target in turn (order alternating), so drift hits all alike."""
    for name, port in ports.items():
        wrk(port, scripts[name], 32, 2)  # warm-up
    runs: dict[str, dict[int, list[dict[str, float]]]] = {n: {32: [], 4: []} for n in ports}
    for round_ in range(args.rounds):
        order = list(ports) if round_ % 2 == 0 else list(reversed(ports))
        for connections in (32, 4):
            for name in order:
                result = wrk(ports[name], scripts[name], connections, args.seconds)
                runs[name][connections].append(result)
    return runs


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """Medians per target, and per-round ratios (each round's runs are side by side)."""
    runs = results["runs"]
    table: dict[str, Any] = {}
    for name, by_connections in runs.items():
        row: dict[str, Any] = {}
        for connections, samples in by_connections.items():
            for metric in ("rps", "p50_ms", "p99_ms"):
                values = [sample[metric] for sample in samples]
                row[f"{metric}_{connections}"] = round(statistics.median(values), 2)
        if name != BARE:
            row["ratio_to_bare"] = _median_ratio(by_connections[32], runs[BARE][32])
            row["rss_mb"] = results["rss_mb"][name]
        table[name] = row
    checks = [name for name in runs if name != BARE]
    if len(checks) > 1:
        first, last = runs[checks[0]][32], runs[checks[-1]][32]
        table[f"{checks[-1]} / {checks[0]}"] = {"ratio": _median_ratio(last, first)}
    return table


def _median_ratio(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    return round(statistics.median(x["rps"] / y["rps"] for x, y in zip(a, b, strict=True)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--keys",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[10_000],
        help="key counts, comma separated: one server (and database) each, e.g. 10000,1000000",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    results = run(args)
    table = summary(results)
    print(
        f"backend={args.backend} workers={args.workers}: medians of {args.rounds} rounds "
        f"of {args.seconds} s per target (seeded in {results['seed_seconds']} s)"
    )
    for name, row in table.items():
        if "ratio" in row:
            print(f"  {name}: throughput ratio {row['ratio']:.3f} (32 conn, median per round)")
            continue
        line = (
            f"  {name:<22} 32 conn: {row['rps_32']:8.0f} req/s  p50 {row['p50_ms_32']:.2f} ms  "
            f"p99 {row['p99_ms_32']:.2f} ms | 4 conn: p50 {row['p50_ms_4']:.2f} ms  "
            f"p99 {row['p99_ms_4']:.2f} ms"
        )
        if name != BARE:
            rss = ", ".join(f"{r:.0f}" for r in row["rss_mb"])
            line += f" | ratio to bare {row['ratio_to_bare']:.3f} | peak RSS {rss} MB"
        print(line)
    print(f"  keys generated per second (in-process): {keygen_rate():,.0f}")
    print("JSON " + json.dumps({"args": vars(args), "summary": table, **results}))


if __name__ == "__main__":
    main()
