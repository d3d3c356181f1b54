"""Sending webhooks: the `WebhookSender` interface deliveries go through, and its httpx sender.

A request is signed per Standard Webhooks (https://www.standardwebhooks.com): headers
`webhook-id` (stable across retries, so a receiver can drop duplicates), `webhook-timestamp`
(unix seconds, when signed) and `webhook-signature: v1,<base64 HMAC-SHA256>` of
`"{id}.{timestamp}.{body}"`, keyed with the base64-decoded part of the secret after `whsec_`.
Redirects are not followed: a receiver that moved must be edited, not chased.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
TIMEOUT = 10.0  # seconds for connecting and for the whole answer
USER_AGENT = "Keyvend-Webhooks/1"
ERROR_LENGTH = 500


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: the status code (None: no answer), its time, what went wrong."""

    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    """Something that POSTs one signed body and says how it went; it never raises for the
    receiver's faults (no answer, a refusal, a bad certificate)."""

    def send(self, url: str, *, message_id: str, body: bytes, secret: str) -> Outcome: ...


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value of a body: `v1,<base64 HMAC-SHA256>`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, *, message_id: str, body: bytes) -> dict[str, str]:
    """Every header of a delivery, signed now."""
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id=message_id, timestamp=timestamp, body=body),
    }


@dataclass(frozen=True)
class HttpxSender:
    """Sends over a new httpx connection per delivery (one slow receiver holds only its own)."""

    timeout: float = TIMEOUT

    def send(self, url: str, *, message_id: str, body: bytes, secret: str) -> Outcome:
        """POST `body` to `url`, signed; the outcome, never an exception for the receiver's
        faults."""
        headers = signed_headers(secret, message_id=message_id, body=body)
        started = time.monotonic()
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(None, _since(started), _describe(exc, self.timeout))
        took = _since(started)
        if 200 <= response.status_code < 300:
            return Outcome(response.status_code, took, None)
        return Outcome(response.status_code, took, _refusal(response))


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(exc: httpx.HTTPError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"No answer within {timeout:g} s ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]


def _refusal(response: httpx.Response) -> str:
    text = f"HTTP {response.status_code}"
    if response.is_redirect:
        return f"{text} (redirects are not followed; edit the URL)"
    snippet = " ".join(response.text[:200].split())
    return f"{text}: {snippet}"[:ERROR_LENGTH] if snippet else text
