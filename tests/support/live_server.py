"""Real servers for end-to-end tests: an ASGI app in a thread, or a server command in a process.

Both listen on a free loopback port and hand back the base URL only once connections are
accepted: the thread's server says so through an event, the process is probed until it answers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

import uvicorn

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class _Server(uvicorn.Server):
    """uvicorn that tells the starting thread when it is listening."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@contextmanager
def serve_in_thread(app: Any, **config: Any) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread of this process; yields the base URL.

    `config` goes to `uvicorn.Config` (log level "warning" unless given).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    ready = threading.Event()
    server = _Server(uvicorn.Config(app, **{"log_level": "warning", **config}), ready)

    def run() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            ready.set()  # a server that failed to start must not keep the test waiting

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert ready.wait(30) and server.started, "uvicorn did not start"
        yield f"http://{HOST}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@contextmanager
def serve_in_process(command: list[str], *, port: int, env: Mapping[str, str]) -> Iterator[str]:
    """Run a server `command` that listens on `port` in a session of its own; yields its URL.

    Its stderr is kept for the failure message if it exits early; at the end the whole
    process group gets SIGTERM, so workers it forked stop too.
    """
    proc = subprocess.Popen(
        command,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_until_listening(port, proc)
        yield f"http://{HOST}:{port}"
    finally:
        with suppress(ProcessLookupError):  # the group is gone already
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def wait_until_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Poll the port until the server accepts connections (a process has no readiness signal)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"the server did not listen on port {port}")
