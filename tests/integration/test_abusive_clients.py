"""A real `keyvend serve` against abusive clients: huge heads and bodies, slowloris.

The server runs as operators run it, under a common open-files limit of 1 024 (systemd's
default soft limit, here made the hard limit too so it cannot be raised), on SQLite with one
worker. Memory is read from /proc; waits are bounded loops on events (a socket closing, a
port answering), never sleeps.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.migrate import upgrade
from tests.conftest import SECRET
from tests.support.keys import issue_key
from tests.support.live_server import free_port, wait_until_listening

OPEN_FILES = 1024
HEAD_TIMEOUT = 2  # seconds, KEYVEND_HEADER_TIMEOUT for this server
PER_CLIENT = 100


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def limit_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("abuse")
    db = build_database(Settings(data_dir=data_dir, secret_key=SECRET))
    upgrade(db.engine)
    key = issue_key(db)
    db.dispose()
    port = free_port()
    env = {
        **os.environ,
        "KEYVEND_DATA_DIR": str(data_dir),
        "KEYVEND_SECRET_KEY": SECRET,
        "KEYVEND_PORT": str(port),
        "KEYVEND_RATE_LIMIT_ENABLED": "false",
        "KEYVEND_HEADER_TIMEOUT": str(HEAD_TIMEOUT),
        "KEYVEND_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
    }
    proc = subprocess.Popen(  # the open-files limit applies to the server alone
        [sys.executable, "-m", "keyvend.cli", "serve", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=limit_open_files,
    )
    try:
        wait_until_listening(port, proc)
        wait_until_ready(f"http://127.0.0.1:{port}")
        yield {"url": f"http://127.0.0.1:{port}", "port": port, "pid": proc.pid, "key": key}
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def wait_until_ready(url: str, tries: int = 600) -> None:
    """Poll /healthz until the app answers (the port accepts connections before the app has
    loaded: they wait in the backlog)."""
    for _ in range(tries):
        with suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
    raise AssertionError("the server never became ready")


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Wait (at most `within` seconds) for the server to close `sock`: EOF or a reset."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def check(server: dict[str, Any]) -> Any:
    """A normal key check by a well-behaved client, which must answer within one second."""
    body = {"key": server["key"]}
    return httpx.post(f"{server['url']}/api/guest/serviceapikey/check", json=body, timeout=1.0)


def test_a_check_succeeds_while_one_client_holds_1100_half_open_connections(
    server: dict[str, Any],
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))  # this test process's own
    with ExitStack() as held:
        sockets = []
        for _ in range(1100):
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.2", 0))  # the abuser: another loopback address
            try:
                sock.connect(("127.0.0.1", server["port"]))
                sock.sendall(b"GET /api/guest/serviceapikey/check HTTP/1.1\r\nHost: kv\r\n")
            except OSError:
                continue  # closed by the server at once: that is the defence working
            sockets.append(sock)
        assert check(server).json() == {"result": True, "error": None}
        # The server let the abuser keep at most its share; the rest it closed at once ...
        assert closed_by_server(sockets[-1], within=10)
        # ... and it closes the ones it kept once their head is overdue.
        assert closed_by_server(sockets[0], within=HEAD_TIMEOUT * 5)
        assert check(server).json() == {"result": True, "error": None}


def test_a_huge_header_gets_431_and_costs_the_worker_no_memory(server: dict[str, Any]) -> None:
    before = rss_kib(server["pid"])
    with socket.create_connection(("127.0.0.1", server["port"])) as sock:
        sock.settimeout(10)
        sock.sendall(b"GET /docs HTTP/1.1\r\nHost: kv\r\nX-Big: ")
        with suppress(OSError):  # the server hangs up part way: that is the point
            for _ in range(300):  # up to 300 MB
                sock.sendall(b"a" * 1_000_000)
        answer = b""
        with suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
    assert rss_kib(server["pid"]) - before < 20 * 1024
    assert check(server).json() == {"result": True, "error": None}


@pytest.mark.parametrize("path", ["/api/guest/serviceapikey/check", "/login"])
def test_a_huge_body_is_refused_unread_and_costs_no_memory(
    server: dict[str, Any], path: str
) -> None:
    before = rss_kib(server["pid"])
    with socket.create_connection(("127.0.0.1", server["port"])) as sock:
        sock.settimeout(10)
        head = f"POST {path} HTTP/1.1\r\nHost: kv\r\nContent-Type: application/json\r\n"
        sock.sendall((head + "Content-Length: 500000000\r\n\r\n").encode())
        with suppress(OSError):
            for _ in range(20):
                sock.sendall(b"x" * 1_000_000)
        answer = b""
        with suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    if path.startswith("/api/"):
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert body["error"]["code"] == 701
    assert rss_kib(server["pid"]) - before < 20 * 1024


def test_a_chunked_body_is_cut_off_at_the_ceiling(server: dict[str, Any]) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(50):  # 50 MB, announced by no Content-Length
            yield b"x" * 1_000_000

    before = rss_kib(server["pid"])
    with suppress(httpx.TransportError):  # the server may hang up before reading it all
        answer = httpx.post(
            f"{server['url']}/api/guest/product/get_list",
            content=chunks(),
            headers={"content-type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == 701
    assert rss_kib(server["pid"]) - before < 20 * 1024
    assert check(server).json() == {"result": True, "error": None}
