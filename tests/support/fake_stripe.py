"""A fake Stripe API on a real local HTTP server, and Stripe's webhook signature.

The server answers the two calls Keyvend makes (`POST /v1/checkout/sessions`, `POST
/v1/refunds`) as Stripe does, records every request for assertions, replays an answer for an
idempotency key it has seen (and refuses the key with other parameters), and can be told to
fail. A failure is not stored under the idempotency key, as Stripe stores no result for a
request it did not execute, so a retry after `recover()` goes through.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from pydantic import SecretStr

from keyvend.config import Settings

SECRET_KEY = "sk_test_keyvend_" + "k" * 24
WEBHOOK_SECRET = "whsec_keyvend_" + "w" * 24
PUBLIC_URL = "https://shop.example"


@dataclass(frozen=True)
class Recorded:
    """One request the fake received: form fields decoded, header names in lower case."""

    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Failure:
    status: int
    message: str
    type: str
    code: str | None


@dataclass
class FakeStripe:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _answers: dict[str, tuple[dict[str, str], int, dict[str, Any]]] = field(default_factory=dict)
    _failure: Failure | None = None
    delay: float = 0.0  # seconds each answer takes, as a slow Stripe would
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        status: int = 402,
        message: str = "Your card was declined.",
        *,
        type: str = "card_error",
        code: str | None = "card_declined",
    ) -> None:
        """Answer every request with this Stripe error until `recover()`."""
        self._failure = Failure(status, message, type, code)

    def recover(self) -> None:
        self._failure = None

    def to(self, path: str) -> list[Recorded]:
        """The requests received for `path`, in order."""
        return [r for r in self.requests if r.path == path]

    def paid_event(
        self, session_id: str, *, type: str = "checkout.session.completed", **changes: Any
    ) -> dict[str, Any]:
        """The event Stripe sends once the customer paid the session; `changes` alter it."""
        with self._lock:
            session = self.sessions[session_id]
            session.update(payment_status="paid", status="complete")
            session["payment_intent"] = session["payment_intent"] or f"pi_test_{next(self._ids)}"
            snapshot = {**session, **changes}
            number = next(self._ids)
        return event(type, snapshot, event_id=f"evt_test_{number}")

    def answer(self, path: str, form: dict[str, str], key: str | None) -> tuple[int, Any, bool]:
        """(status, body, replayed) for a request, as Stripe would answer it."""
        with self._lock:
            if self._failure is not None:
                return self._failure.status, _error_body(self._failure), False
            if key is not None and key in self._answers:
                sent, status, body = self._answers[key]
                if sent != form:
                    refused = Failure(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                        "idempotency_error",
                        None,
                    )
                    return 400, _error_body(refused), False
                return status, body, True
            status, body = self._execute(path, form)
            if key is not None:
                self._answers[key] = (form, status, body)
            return status, body, False

    def _execute(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        number = next(self._ids)
        if path == "/v1/checkout/sessions":
            session = _session(f"cs_test_{number}", form)
            self.sessions[session["id"]] = session
            return 200, dict(session)
        if path == "/v1/refunds":
            return 200, {
                "id": f"re_test_{number}",
                "object": "refund",
                "status": "succeeded",
                "amount": int(form["amount"]),
                "payment_intent": form["payment_intent"],
            }
        missing = Failure(
            404, f"Unrecognized request URL (POST: {path})", "invalid_request_error", None
        )
        return 404, _error_body(missing)


def _session(session_id: str, form: dict[str, str]) -> dict[str, Any]:
    unit = int(form["line_items[0][price_data][unit_amount]"])
    quantity = int(form["line_items[0][quantity]"])
    return {
        "id": session_id,
        "object": "checkout.session",
        "url": f"https://checkout.stripe.test/c/pay/{session_id}",
        "mode": form["mode"],
        "status": "open",
        "payment_status": "unpaid",
        "payment_intent": None,
        "client_reference_id": form.get("client_reference_id"),
        "metadata": {
            name[len("metadata[") : -1]: value
            for name, value in form.items()
            if name.startswith("metadata[")
        },
        "amount_total": unit * quantity,
        "currency": form["line_items[0][price_data][currency]"],
        "success_url": form["success_url"],
        "cancel_url": form["cancel_url"],
    }


def _error_body(failure: Failure) -> dict[str, Any]:
    error = {"type": failure.type, "message": failure.message}
    if failure.code:
        error["code"] = failure.code
    return {"error": error}


def event(type: str, obj: dict[str, Any], *, event_id: str = "evt_test_0") -> dict[str, Any]:
    """A Stripe event of `type` about `obj`, as webhooks deliver it."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-01",
        "created": int(time.time()),
        "livemode": False,
        "type": type,
        "data": {"object": obj},
    }


def sign(payload: str, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends with `payload`: `t=<ts>,v1=<hex HMAC>`.

    Computed here rather than with the stripe library, so the check is not the library
    agreeing with itself."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def stripe_settings(settings: Settings, fake: FakeStripe) -> Settings:
    """`settings` with Stripe turned on against `fake`, and a public URL for return links."""
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(SECRET_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_api_base": fake.url,
            "public_url": PUBLIC_URL,
        }
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake._lock:
            fake.requests.append(Recorded("POST", self.path, form, headers))
        if fake.delay:
            time.sleep(fake.delay)  # the server side of a slow network, not a wait in a test
        status, body, replayed = fake.answer(self.path, form, headers.get("idempotency-key"))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_test_{len(fake.requests)}")
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        if status >= 400:
            self.send_header("Stripe-Should-Retry", "false")  # as Stripe says of a refusal
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the requests from `FakeStripe.requests`."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeStripe) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def running() -> Iterator[FakeStripe]:
    """A fake Stripe listening on a free loopback port until the block ends."""
    fake = FakeStripe()
    server = _Server(fake)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
