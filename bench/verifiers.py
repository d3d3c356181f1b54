"""Benchmark the key check the way applications call it, against the bare endpoint.

    .venv/bin/python -m bench.verifiers --keys 1000000 --rounds 5

One SQLite database of N keys (each with a quota and a per-key rate limit so large that
nothing is refused), served by three `keyvend serve` processes of one worker each, plus the
bare Starlette endpoint on the same uvicorn stack:
- plain: `check` (anonymous), `check` with an application token, and `verify` (cost 1,
  quota and rate limit counted in memory);
- proxied: KEYVEND_TRUSTED_PROXIES=127.0.0.1 and every request carrying X-Forwarded-For;
- redis: KEYVEND_REDIS_URL set, so `verify` counts in Redis (one Lua script per call).
Every target runs once per round, in alternating order, at 32 and at 4 connections, so drift
hits all alike. Prints medians, each target's ratio to the bare endpoint and the ratios the
issue names (token and proxy to plain check). Needs `wrk` and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.check import (
    BARE,
    HERE,
    bare_command,
    drive,
    free_port,
    keyvend_command,
    seeded,
    served,
)
from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.services import application

CHECK = "/api/guest/serviceapikey/check"
VERIFY = "/api/guest/serviceapikey/verify"
REDIS = "redis://127.0.0.1:6379/14"
# Large enough that no call of the run is refused: the benchmark measures the counting.
LIMITS: dict[str, object] = {
    "quota": 10**12,
    "quota_period": "month",
    "rate_limit": "1000000/second",
}
# (target, server, path, extra headers, what a good answer holds)
TARGETS = [
    ("check", "plain", CHECK, {}, '"result":true'),
    ("check, application token", "plain", CHECK, {"token": True}, '"result":true'),
    ("check, trusted proxy", "proxied", CHECK, {"X-Forwarded-For": "203.0.113.9"}, "true"),
    ("verify, quota + limit, memory", "plain", VERIFY, {"token": True}, '"valid":true'),
    ("verify, quota + limit, Redis", "redis", VERIFY, {"token": True}, '"valid":true'),
]


def lua(keys: list[str], path: str, headers: dict[str, str], expect: str, file: Path) -> Path:
    """A wrk script posting random sample keys to `path`; stops on a wrong answer."""
    bodies = ",".join(json.dumps(json.dumps({"key": k})) for k in keys)
    header_lines = "".join(
        f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}\n"
        for name, value in headers.items()
    )
    file.write_text(
        f"local bodies = {{{bodies}}}\n"
        "wrk.method = 'POST'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        f"{header_lines}"
        "request = function()\n"
        f"  return wrk.format(nil, {json.dumps(path)}, nil, bodies[math.random(#bodies)])\n"
        "end\n"
        "response = function(status, headers, body)\n"
        f"  if status ~= 200 or not string.find(body, {json.dumps(expect)}, 1, true) then\n"
        "    wrk.thread:stop()\n"
        "  end\n"
        "end\n"
    )
    return file


def run(args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        env, keys, seed_seconds = seeded("sqlite", args.keys, stack, limits=LIMITS)
        token = _application_token(env)
        envs = {
            "plain": env,
            # The forwarded client must be whitelisted like 127.0.0.1 is for the others.
            "proxied": {
                **env,
                "KEYVEND_TRUSTED_PROXIES": "127.0.0.1",
                "KEYVEND_RATE_LIMIT_WHITELIST": "127.0.0.1,203.0.113.0/24",
            },
            "redis": {**env, "KEYVEND_REDIS_URL": REDIS},
        }
        server_ports = {name: free_port() for name in envs}
        for name, server_env in envs.items():
            command = keyvend_command(server_ports[name], 1)
            stack.enter_context(served(command, server_ports[name], server_env))
        scripts_dir = Path(tempfile.mkdtemp(prefix="keyvend-bench-lua-"))
        stack.callback(shutil.rmtree, scripts_dir, ignore_errors=True)
        ports: dict[str, int] = {}
        scripts: dict[str, Path] = {}
        for i, (name, server, path, extra, expect) in enumerate(TARGETS):
            headers = {k: v for k, v in extra.items() if k != "token"}
            if extra.get("token"):
                headers["Authorization"] = f"Bearer {token}"
            ports[name] = server_ports[server]
            scripts[name] = lua(keys, path, headers, expect, scripts_dir / f"{i}.lua")
        ports[BARE] = free_port()
        bare_env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
        stack.enter_context(served(bare_command(ports[BARE], 1), ports[BARE], bare_env))
        scripts[BARE] = lua(keys, CHECK, {}, "true", scripts_dir / "bare.lua")
        runs = drive(args, ports, scripts)
    return {"runs": runs, "seed_seconds": round(seed_seconds, 1)}


def _application_token(env: dict[str, str]) -> str:
    settings = Settings(
        data_dir=Path(env["KEYVEND_DATA_DIR"]), secret_key=env["KEYVEND_SECRET_KEY"]
    )
    db = build_database(settings)
    try:
        return application.create(db, name="bench").token
    finally:
        db.dispose()


def ratio(runs: dict[str, Any], a: str, b: str) -> float:
    """The median over rounds of a's throughput over b's (32 connections)."""
    pairs = zip(runs[a][32], runs[b][32], strict=True)
    return round(statistics.median(x["rps"] / y["rps"] for x, y in pairs), 3)


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    runs = results["runs"]
    print(
        f"sqlite, {args.keys} keys, 1 worker each: medians of {args.rounds} rounds of "
        f"{args.seconds} s per target (seeded in {results['seed_seconds']} s)"
    )
    for name, by_connections in runs.items():
        rps = statistics.median(r["rps"] for r in by_connections[32])
        p50 = statistics.median(r["p50_ms"] for r in by_connections[32])
        p99 = statistics.median(r["p99_ms"] for r in by_connections[32])
        p50_4 = statistics.median(r["p50_ms"] for r in by_connections[4])
        line = (
            f"  {name:<31} {rps:8.0f} req/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms"
            f" | 4 conn p50 {p50_4:.2f} ms"
        )
        if name != BARE:
            line += f" | ratio to bare {ratio(runs, name, BARE):.3f}"
        print(line)
    for name in ("check, application token", "check, trusted proxy"):
        print(f"  {name} / check: {ratio(runs, name, 'check'):.3f}")
    print("JSON " + json.dumps({"args": vars(args), **results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    report(args, run(args))


if __name__ == "__main__":
    sys.exit(main())
