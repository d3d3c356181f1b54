"""What a cached key check costs in each client library: Python, TypeScript and PHP.

    .venv/bin/python -m bench.client_libraries [--rounds 7] [--calls 200000]

Each library checks one valid key once against a real Keyvend server (so its cache holds the
answer), then times `--rounds` rounds of `--calls` cached checks; a round's figure is its mean
per check, and the library's figure the median of its rounds. Python's runs here, in this
process, against a server in a thread; TypeScript's (`npm run bench` in clients/typescript,
after `npm ci`) and PHP's (`php clients/php/bench/cached.php`, with APCu enabled) start their own
`keyvend serve` and print one JSON line per cache they time. Prints a table with each
median and its ratio to Python's, all from the same invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from keyvend_client import KeyvendClient

from bench.client_cache import keyvend_server

ROOT = Path(__file__).resolve().parent.parent
KEYVEND_BIN = str(Path(sys.executable).with_name("keyvend"))


def python_rounds(url: str, key: str, rounds: int, calls: int) -> list[float]:
    """Mean microseconds per cached check, per round, for the sync Python client."""
    means = []
    with KeyvendClient(url) as client:
        assert client.check(key) is True
        for _ in range(rounds):
            started = time.perf_counter_ns()
            for _ in range(calls):
                client.check(key)
            means.append((time.perf_counter_ns() - started) / calls / 1000)
    return means


def other_library(command: list[str], cwd: Path, rounds: int, calls: int) -> list[dict[str, Any]]:
    """The JSON lines a library's own benchmark prints."""
    env = {**os.environ, "KEYVEND_BIN": KEYVEND_BIN}
    env["BENCH_ROUNDS"], env["BENCH_CALLS"] = str(rounds), str(calls)
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=True
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200_000, help="Cached checks per round.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, keyvend_server(Path(tmp)) as (url, key):
        rows = [
            {
                "library": "python",
                "cache": "memory",
                "rounds": python_rounds(url, key, args.rounds, args.calls),
            }
        ]
    rows += other_library(
        ["npm", "run", "--silent", "bench"], ROOT / "clients/typescript", args.rounds, args.calls
    )
    rows += other_library(
        ["php", "-d", "apc.enable_cli=1", "bench/cached.php"],
        ROOT / "clients/php",
        args.rounds,
        args.calls,
    )
    baseline = statistics.median(rows[0]["rounds"])
    print(f"cached check, median of {args.rounds} rounds x {args.calls} calls (mean per call)")
    print(f"{'library':<12} {'cache':<8} {'median':>10}  {'vs python':>9}")
    for row in rows:
        median = statistics.median(row["rounds"])
        cache = row.get("cache", "memory")
        print(f"{row['library']:<12} {cache:<8} {median:8.3f} us  {median / baseline:8.2f}x")


if __name__ == "__main__":
    main()
