"""A real HTTP server on a free loopback port that receives webhooks and keeps them.

It answers each POST with the next status of `answers` (200 once they run out), or holds it
unanswered while `hang()` is on, until `release()` (or `stop`). Tests wait for requests with a
deadline (`wait_for`, `wait_hanging`), never a sleep. `verify` checks a Standard Webhooks
signature the way a receiver would, with hmac and base64 only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.live_server import HOST, free_port


@dataclass(frozen=True)
class Received:
    """One request as it arrived: its path, headers (names in lower case) and body."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def verify(secret: str, received: Received) -> bool:
    """Whether the request's signature is `HMAC-SHA256(key, "id.timestamp.body")` under the
    base64 key after `whsec_`, as the Standard Webhooks spec says a receiver must check."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message_id = received.headers["webhook-id"]
    timestamp = received.headers["webhook-timestamp"]
    signed = f"{message_id}.{timestamp}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1) for part in received.headers["webhook-signature"].split(" ")]
    return any(v == "v1" and hmac.compare_digest(sig, expected) for v, sig in given)


class WebhookReceiver:
    """`with WebhookReceiver() as hooks: ... hooks.wait_for(1)`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.answers: list[int] = []
        self.hanging = 0  # requests held unanswered right now
        self._hang = False
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hook"

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order."""
        with self._changed:
            self.answers.extend(statuses)

    def hang(self) -> None:
        """Hold every request from now on unanswered, until `release`."""
        with self._changed:
            self._hang = True
            self._released.clear()

    def release(self) -> None:
        """Answer the held requests (and the next ones) again."""
        with self._changed:
            self._hang = False
            self._released.set()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """The first `count` requests, once they arrived; fails after `timeout` seconds."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            assert arrived, f"{len(self.received)} of {count} request(s) arrived"
            return list(self.received)

    def wait_hanging(self, count: int = 1, timeout: float = 15.0) -> None:
        """Until `count` requests are held unanswered."""
        with self._changed:
            held = self._changed.wait_for(lambda: self.hanging >= count, timeout)
            assert held, f"{self.hanging} of {count} request(s) held"

    def _take(self, received: Received) -> int | None:
        """Record a request; its status, or None to hold it."""
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()
            if self._hang:
                self.hanging += 1
                self._changed.notify_all()
                return None
            return self.answers.pop(0) if self.answers else 200

    def _held(self) -> int:
        self._released.wait()
        with self._changed:
            self.hanging -= 1
            return self.answers.pop(0) if self.answers else 200

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver._take(Received(self.path, headers, body))
                if status is None:
                    status = receiver._held()
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        self._server = ThreadingHTTPServer((HOST, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
