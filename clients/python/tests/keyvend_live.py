"""A real Keyvend server for the client tests.

Seeded through the `keyvend` CLI and the admin API, served by uvicorn on a real socket in a
thread, and wrapped in `RequestCounter` so that tests can count what reaches the server.

The server's tests have their own live servers in `tests/support/live_server.py`; this tree
keeps its own because it also runs on its own (from clients/python), where `tests` is not
importable.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn
from keyvend.app import create_app
from keyvend.config import Settings

from keyvend_client.protocol import INFO_PATH

SECRET = "client-tests-secret-" + "x" * 32
KEYVEND = str(Path(sys.executable).with_name("keyvend"))

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `keyvend` process working on `data_dir`."""
    return {
        **os.environ,
        "KEYVEND_DATA_DIR": str(data_dir),
        "KEYVEND_DATABASE_URL": f"sqlite:///{data_dir / 'keyvend.db'}",
        "KEYVEND_SECRET_KEY": SECRET,
        "KEYVEND_CONFIG": str(data_dir / "absent.toml"),
        **extra,
    }


def keyvend_cli(data_dir: Path, *args: str) -> dict[str, Any]:
    """Run `keyvend ARGS --json` and return its JSON object."""
    done = subprocess.run(
        [KEYVEND, *args, "--json"],
        env=server_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def settings(data_dir: Path, **overrides: Any) -> Settings:
    """Server settings on `data_dir`; rate limiting off unless overridden."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": f"sqlite:///{data_dir / 'keyvend.db'}",
        "secret_key": SECRET,
        "rate_limit_enabled": False,
    }
    return Settings(**(values | overrides))


class RequestCounter:
    """ASGI middleware counting requests by path; it can also hold them or fake an outage."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.arrived = threading.Event()
        self.outage_status: int | None = None
        self._gate: threading.Event | None = None
        self._lock = threading.Lock()

    def requests(self, path: str = INFO_PATH) -> int:
        """How many requests for `path` reached the server."""
        with self._lock:
            return self.counts[path]

    def hold(self) -> None:
        """Keep every request waiting until `release()`."""
        self._gate = threading.Event()

    def release(self) -> None:
        """Let held requests through."""
        if self._gate is not None:
            self._gate.set()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.counts[scope["path"]] += 1
            self.arrived.set()
            if self._gate is not None:
                await asyncio.to_thread(self._gate.wait, 30)
            if self.outage_status is not None:
                await _proxy_error_page(self.outage_status, send)
                return
        await self.app(scope, receive, send)


async def _proxy_error_page(status: int, send: Any) -> None:
    body = b"<html><body><h1>Bad Gateway</h1></body></html>"
    headers = [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class LiveServer:
    """`create_app(settings)` behind a `RequestCounter`, served by uvicorn in a thread."""

    def __init__(self, server_settings: Settings) -> None:
        self.counter = RequestCounter(create_app(server_settings))
        # A socket bound and listening before uvicorn starts: connections simply wait in the
        # backlog, so nobody has to poll for the server to come up.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(256)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(
            self.counter, log_level="warning", access_log=False, timeout_graceful_shutdown=5
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down; afterwards connections to its port are refused."""
        self.counter.release()
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()


class AdminApi:
    """The admin half of the FOSSBilling API, authenticated with an admin API token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token

    def __call__(self, path: str, **params: Any) -> Any:
        """Call `admin/PATH` and return its result; fail the test on an error envelope."""
        response = httpx.post(
            f"{self.base_url}/api/admin/{path}",
            json=params,
            auth=("admin", self.token),
            timeout=30,  # a server just started (or a busy machine) can take seconds
        )
        body = response.json()
        assert body["error"] is None, body
        return body["result"]

    def at(self, base_url: str) -> AdminApi:
        """The same admin, talking to another server."""
        return AdminApi(base_url, self.token)


class ServeProcess:
    """`keyvend serve` in a subprocess on a free port, ready once uvicorn says it listens.

    Rate limiting is off unless `env` turns it on (`KEYVEND_RATE_LIMIT_ENABLED="true"`).
    """

    def __init__(self, data_dir: Path, **env_overrides: str) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        defaults = {"KEYVEND_PORT": str(port), "KEYVEND_RATE_LIMIT_ENABLED": "false"}
        env = server_env(data_dir, **(defaults | env_overrides))
        self.process = subprocess.Popen(
            [KEYVEND, "serve", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        self._lines = _line_queue(self.process.stdout)

    def wait_until_listening(self, timeout: float = 60) -> None:
        """Read the server's output until uvicorn reports it is listening."""
        seen: list[str] = []
        while True:
            line = self._lines.get(timeout=timeout)
            assert line is not None, "keyvend serve stopped:\n" + "".join(seen)
            seen.append(line)
            if "Uvicorn running on" in line:
                return

    def stop(self) -> None:
        """Terminate the server and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _line_queue(stream: IO[str]) -> queue.Queue[str | None]:
    """Lines of `stream` as they come (None at the end), read by a helper thread."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines
