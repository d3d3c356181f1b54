"""The wire format: which URLs to call and what a FOSSBilling envelope means."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import httpx

from keyvend_client.errors import (
    ApiError,
    KeyNotFound,
    RateLimited,
    ServerUnavailable,
    Unauthorized,
)
from keyvend_client.models import NOT_FOUND, Answer, KeyInfo, Quota, Verification, VerifyCode

INFO_PATH = "/api/guest/serviceapikey/get_info"
VERIFY_PATH = "/api/guest/serviceapikey/verify"
EVENTS_PATH = "/api/guest/serviceapikey/events"
NO_SUCH_KEY = "API key does not exist"
RATE_LIMIT_CODE = 429
UNAUTHORIZED_CODE = 201  # FOSSBilling's "Authentication Failed"
# The server refuses longer keys (prefix + 256 hex characters + dashes fit well below this).
MAX_KEY_LENGTH = 600
_CODES = {code.value: code for code in VerifyCode}


def info_url(base_url: str) -> str:
    """The `get_info` endpoint under `base_url` (the server's root, e.g. http://host:8080)."""
    return base_url.rstrip("/") + INFO_PATH


def verify_url(base_url: str) -> str:
    """The `verify` endpoint under `base_url`."""
    return base_url.rstrip("/") + VERIFY_PATH


def events_url(base_url: str) -> str:
    """The revocation stream under `base_url`."""
    return base_url.rstrip("/") + EVENTS_PATH


@contextlib.contextmanager
def transport_errors() -> Iterator[None]:
    """Turn httpx's network failures into `ServerUnavailable`."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ServerUnavailable(f"Keyvend did not answer in time ({type(exc).__name__})") from exc
    except httpx.RequestError as exc:
        raise ServerUnavailable(f"Cannot reach Keyvend ({type(exc).__name__})") from exc


def decode(response: httpx.Response) -> Answer:
    """A `get_info` answer: the key's info, or None when the key does not exist; raise for
    every other outcome."""
    try:
        return key_info(result(response))
    except KeyNotFound:
        return None


def decode_verification(response: httpx.Response) -> Verification:
    """A `verify` answer; an unknown key is a result (NOT_FOUND), not an error."""
    try:
        return verification(result(response))
    except KeyNotFound:  # a server that words it as an error, like get_info does
        return NOT_FOUND


def result(response: httpx.Response) -> Any:
    """The result of a successful envelope; raise the error any other answer stands for."""
    if response.status_code == 429:
        raise RateLimited(retry_after(response.headers))
    if response.status_code >= 500:
        # 503 is Keyvend's own word for an outage (its database is down): say what it said.
        raise ServerUnavailable(f"Keyvend answered HTTP {response.status_code}{_said(response)}")
    if response.status_code == 401:
        raise Unauthorized(f"Keyvend refused the application token (HTTP 401){_said(response)}")
    body = _envelope(response)
    error = body["error"]
    if error is None:
        return body["result"]
    message, code = _message_and_code(error)
    if code == RATE_LIMIT_CODE:
        raise RateLimited(retry_after(response.headers))
    if code == UNAUTHORIZED_CODE:
        raise Unauthorized(f"Keyvend refused the application token: {message[:200]}")
    if message == NO_SUCH_KEY:
        raise KeyNotFound()
    raise ApiError(message, code)


def key_info(result: Any) -> KeyInfo:
    """Read a `get_info` result; `valid` may be a bool or FOSSBilling's 0/1."""
    if not isinstance(result, dict) or not isinstance(result.get("valid"), bool | int):
        raise ServerUnavailable("Keyvend sent a get_info result without `valid`")
    return KeyInfo(valid=bool(result["valid"]), params=_params(result.get("config"), "get_info"))


def verification(result: Any) -> Verification:
    """Read a `verify` result: `{valid, code, config, expires_at, quota}`."""
    if (
        not isinstance(result, dict)
        or not isinstance(result.get("valid"), bool | int)
        or not isinstance(result.get("code"), str)
    ):
        raise ServerUnavailable("Keyvend sent a verify result without `valid` and `code`")
    code: str = result["code"]
    return Verification(
        valid=bool(result["valid"]),
        code=_CODES.get(code, code),
        params=_params(result.get("config"), "verify"),
        expires_at=_timestamp(result.get("expires_at"), "expires_at"),
        quota=_quota(result.get("quota")),
    )


def retry_after(headers: Mapping[str, str]) -> int:
    """Whole seconds from a `Retry-After` header; 1 when absent or not a number."""
    value = headers.get("retry-after", "").strip()
    return max(1, int(value)) if value.isdigit() else 1


def _params(config: Any, call: str) -> Mapping[str, Any]:
    if not config:  # PHP serialises an empty object as [] and FOSSBilling may send null
        config = {}
    if not isinstance(config, dict):
        raise ServerUnavailable(f"Keyvend sent a {call} result whose `config` is not an object")
    return MappingProxyType(config)


def _timestamp(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise ServerUnavailable(f"Keyvend sent a verify result whose `{name}` is not a timestamp")


def _quota(value: Any) -> Quota | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(value.get(name), int) and not isinstance(value.get(name), bool)
        for name in ("limit", "remaining")
    ):
        raise ServerUnavailable("Keyvend sent a verify result whose `quota` is malformed")
    reset_at = _timestamp(value.get("reset_at"), "quota.reset_at")
    return Quota(limit=value["limit"], remaining=value["remaining"], reset_at=reset_at)


def _said(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f": {message[:200]}" if isinstance(message, str) else ""


def _envelope(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict) or "result" not in body or "error" not in body:
        raise ServerUnavailable(
            f"Not a Keyvend API answer (HTTP {response.status_code}); check the base URL"
        )
    return body


def _message_and_code(error: Any) -> tuple[str, int]:
    if not isinstance(error, dict):
        return str(error), 0
    code = error.get("code")
    return str(error.get("message", "")), code if isinstance(code, int) else 0
