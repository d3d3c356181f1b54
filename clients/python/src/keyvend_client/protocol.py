"""The wire format: which URL to call and what a FOSSBilling envelope means."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import httpx

from keyvend_client.errors import ApiError, RateLimited, ServerUnavailable
from keyvend_client.models import Answer, KeyInfo

INFO_PATH = "/api/guest/serviceapikey/get_info"
NO_SUCH_KEY = "API key does not exist"
RATE_LIMIT_CODE = 429
# The server refuses longer keys (prefix + 256 hex characters + dashes fit well below this).
MAX_KEY_LENGTH = 600


def info_url(base_url: str) -> str:
    """The `get_info` endpoint under `base_url` (the server's root, e.g. http://host:8080)."""
    return base_url.rstrip("/") + INFO_PATH


@contextlib.contextmanager
def transport_errors() -> Iterator[None]:
    """Turn httpx's network failures into `ServerUnavailable`."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ServerUnavailable(f"Keyvend did not answer in time ({type(exc).__name__})") from exc
    except httpx.RequestError as exc:
        raise ServerUnavailable(f"Cannot reach Keyvend ({type(exc).__name__})") from exc


def _said(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f": {message[:200]}" if isinstance(message, str) else ""


def decode(response: httpx.Response) -> Answer:
    """The key's info, or None when the key does not exist; raise for every other outcome."""
    if response.status_code == 429:
        raise RateLimited(retry_after(response.headers))
    if response.status_code >= 500:
        # 503 is Keyvend's own word for an outage (its database is down): say what it said.
        raise ServerUnavailable(f"Keyvend answered HTTP {response.status_code}{_said(response)}")
    body = _envelope(response)
    error = body["error"]
    if error is None:
        return key_info(body["result"])
    message, code = _message_and_code(error)
    if code == RATE_LIMIT_CODE:
        raise RateLimited(retry_after(response.headers))
    if message == NO_SUCH_KEY:
        return None
    raise ApiError(message, code)


def key_info(result: Any) -> KeyInfo:
    """Read a `get_info` result; `valid` may be a bool or FOSSBilling's 0/1."""
    if not isinstance(result, dict) or not isinstance(result.get("valid"), bool | int):
        raise ServerUnavailable("Keyvend sent a get_info result without `valid`")
    config = result.get("config")
    if not config:  # PHP serialises an empty object as [] and FOSSBilling may send null
        config = {}
    if not isinstance(config, dict):
        raise ServerUnavailable("Keyvend sent a get_info result whose `config` is not an object")
    return KeyInfo(valid=bool(result["valid"]), params=MappingProxyType(config))


def retry_after(headers: Mapping[str, str]) -> int:
    """Whole seconds from a `Retry-After` header; 1 when absent or not a number."""
    value = headers.get("retry-after", "").strip()
    return max(1, int(value)) if value.isdigit() else 1


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
