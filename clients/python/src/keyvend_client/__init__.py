"""Check Keyvend API keys from Python: cached, coalesced, with typed errors.

`KeyvendClient` (threads) and `AsyncKeyvendClient` (asyncio) ask a Keyvend or FOSSBilling
server whether a key is valid and what its custom parameters are. Web integrations live in
`keyvend_client.asgi`, `keyvend_client.wsgi` and `keyvend_client.fastapi` (the `fastapi` extra).
"""

from keyvend_client.access import STATE_KEY, VerifiedKey
from keyvend_client.async_client import AsyncKeyvendClient
from keyvend_client.client import KeyvendClient
from keyvend_client.errors import (
    ApiError,
    KeyNotFound,
    KeyvendError,
    RateLimited,
    ServerUnavailable,
)
from keyvend_client.models import KeyInfo
from keyvend_client.policy import FAIL_CLOSED, FailClosed, FailurePolicy, ServeStale

__all__ = [
    "FAIL_CLOSED",
    "STATE_KEY",
    "ApiError",
    "AsyncKeyvendClient",
    "FailClosed",
    "FailurePolicy",
    "KeyInfo",
    "KeyNotFound",
    "KeyvendClient",
    "KeyvendError",
    "RateLimited",
    "ServeStale",
    "ServerUnavailable",
    "VerifiedKey",
]
__version__ = "0.1.0"
