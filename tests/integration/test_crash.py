"""kill -9 in the middle of a burst of writes loses nothing that was acknowledged.

A real `keyvend serve` (a uvicorn supervisor and two workers) takes writes from several
threads; the whole process group gets SIGKILL while they are in flight; a new server on the
same data must show every write that was answered with a result, keys issued before the crash
must still check valid, and the SQLite file must pass its integrity check.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SECRET
from tests.support.live_server import HOST, free_port

WRITERS = 4
ACKNOWLEDGED_BEFORE_KILL = 30  # the kill comes once the burst had this many answers
POLL = 0.05  # seconds between readiness probes
START_TIMEOUT = 60.0


@dataclass
class Server:
    """A `keyvend serve` process in a session (and process group) of its own."""

    proc: subprocess.Popen[bytes]
    url: str
    output: Path

    def first_start(self) -> dict[str, Any]:
        """The one JSON object `serve --json` prints, with the first admin, once."""
        return dict(json.loads(self.output.read_text().splitlines()[0]))

    def kill(self) -> None:
        """SIGKILL to the supervisor and every worker it forked."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@contextmanager
def keyvend_serve(env: dict[str, str], directory: Path, name: str) -> Iterator[Server]:
    """Start `keyvend serve --json` and yield it once `/readyz` answers 200."""
    port = free_port()
    output, errors = directory / f"{name}.out", directory / f"{name}.err"
    with output.open("wb") as out, errors.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "keyvend.cli", "serve", "--json", "--port", str(port)],
            env=env,
            cwd=directory,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    server = Server(proc, f"http://{HOST}:{port}", output)
    try:
        wait_until_ready(server, errors)
        yield server
    finally:
        server.kill()


def wait_until_ready(server: Server, errors: Path) -> None:
    """Poll `/readyz` (the socket is bound before the workers serve) in a bounded loop."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.proc.poll() is None, errors.read_text()
        with suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(POLL)
    raise AssertionError(f"keyvend serve was not ready in {START_TIMEOUT} s: {errors.read_text()}")


class Caller:
    """Admin calls on one server; each answer's result, or an AssertionError on an error."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(base_url=f"{url}/api/", timeout=10)
        self.auth = ("admin", token)

    def admin(self, path: str, **params: Any) -> Any:
        return self._result(self.http.post(f"admin/{path}", json=params, auth=self.auth))

    def guest(self, path: str, **params: Any) -> Any:
        return self._result(self.http.post(f"guest/{path}", json=params))

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        body = response.json()
        assert response.status_code == 200 and body["error"] is None, body
        return body["result"]


@dataclass
class Acknowledged:
    """Every write the server answered with a result, from every writer thread."""

    clients: dict[int, str] = field(default_factory=dict)  # id -> email
    orders: dict[int, int] = field(default_factory=dict)  # id -> client id
    keys: dict[int, str] = field(default_factory=dict)  # order id -> key
    count: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)

    def record(self, kind: dict[int, Any], key: int, value: Any) -> None:
        with self.lock:
            kind[key] = value
            self.count += 1
            if self.count >= ACKNOWLEDGED_BEFORE_KILL:
                self.enough.set()


def write_until_refused(caller: Caller, writer: int, product_id: int, acked: Acknowledged) -> None:
    """A client, its activated order and the order's key, again and again, until the server
    stops answering; only answers with a result are recorded."""
    n = 0
    try:
        while True:
            n += 1
            email = f"burst-{writer}-{n}@example.com"
            cid = caller.admin("client/create", email=email, first_name="Burst")
            acked.record(acked.clients, cid, email)
            oid = caller.admin(
                "order/create", client_id=cid, product_id=product_id, period="1M", activate=True
            )
            acked.record(acked.orders, oid, cid)
            acked.record(acked.keys, oid, caller.admin("order/service", id=oid)["api_key"])
    except httpx.HTTPError:
        return  # the kill: connection refused, or cut off mid-answer
    except Exception as exc:  # an error answer while the server was up fails the test
        acked.failures.append(repr(exc))
        acked.enough.set()


@pytest.fixture(params=["sqlite", "postgres"])
def server_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment of `keyvend serve` on a new SQLite data dir or a new PostgreSQL schema."""
    env = {
        **os.environ,
        "KEYVEND_DATA_DIR": str(tmp_path / "data"),
        "KEYVEND_CONFIG": str(tmp_path / "absent.toml"),
        "KEYVEND_SECRET_KEY": SECRET,
        "KEYVEND_RATE_LIMIT_ENABLED": "false",
        "KEYVEND_WORKERS": "2",
        "KEYVEND_LOG_LEVEL": "warning",
    }
    env.pop("KEYVEND_DATABASE_URL", None)
    env.pop("KEYVEND_REDIS_URL", None)
    if request.param == "postgres":
        env["KEYVEND_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    return env


def test_every_acknowledged_write_survives_a_kill_9_of_the_server(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    acked = Acknowledged()
    with keyvend_serve(server_env, tmp_path, "before") as server:
        token = server.first_start()["admin"]["api_token"]
        with closing(Caller(server.url, token)) as caller:
            product_id = an_enabled_product(caller)
            earlier = issued_keys(caller, product_id, count=3)
            writers = [
                threading.Thread(target=write_until_refused, args=(caller, n, product_id, acked))
                for n in range(WRITERS)
            ]
            for writer in writers:
                writer.start()
            assert acked.enough.wait(START_TIMEOUT), "the burst did not get going"
            server.kill()
            for writer in writers:
                writer.join(30)
            assert not any(writer.is_alive() for writer in writers)
    assert acked.failures == []
    assert acked.count >= ACKNOWLEDGED_BEFORE_KILL
    assert acked.clients and acked.orders and acked.keys

    database = tmp_path / "data" / "keyvend.db"
    if "KEYVEND_DATABASE_URL" not in server_env:
        assert sqlite_integrity(database) == "ok"

    # One worker is enough to read everything back (and starts sooner).
    with (
        keyvend_serve({**server_env, "KEYVEND_WORKERS": "1"}, tmp_path, "after") as server,
        closing(Caller(server.url, token)) as caller,
    ):
        for cid, email in acked.clients.items():
            assert caller.admin("client/get", id=cid)["email"] == email
        for oid, cid in acked.orders.items():
            order = caller.admin("order/get", id=oid)
            assert (order["client_id"], order["status"]) == (cid, "active")
        for key in [*earlier, *acked.keys.values()]:
            assert caller.guest("serviceapikey/check", key=key) is True
    if "KEYVEND_DATABASE_URL" not in server_env:
        assert sqlite_integrity(database) == "ok"


def an_enabled_product(caller: Caller) -> int:
    """A free apikey product whose orders activate at once."""
    pid = int(caller.admin("product/prepare", title="Crash API", type="apikey"))
    caller.admin("product/update_config", id=pid, config={"length": 32, "prefix": "sk_"})
    caller.admin("product/update", id=pid, status="enabled", setup="after_order")
    return pid


def issued_keys(caller: Caller, product_id: int, *, count: int) -> list[str]:
    """Keys of activated orders, issued (and checked valid) before the burst."""
    keys = []
    for n in range(count):
        cid = caller.admin("client/create", email=f"early-{n}@example.com", first_name="Early")
        oid = caller.admin(
            "order/create", client_id=cid, product_id=product_id, period="1M", activate=True
        )
        keys.append(caller.admin("order/service", id=oid)["api_key"])
        assert caller.guest("serviceapikey/check", key=keys[-1]) is True
    return keys


def sqlite_integrity(path: Path) -> str:
    """`PRAGMA integrity_check` of the file as a crash left it (the WAL replayed on open)."""
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()
