"""Check Keyvend API keys from Python: cached, coalesced, with typed errors.

`KeyvendClient` (threads) and `AsyncKeyvendClient` (asyncio) ask a Keyvend or FOSSBilling
server whether a key is valid and what its custom parameters are, and `verify` spends a key's
quota. In live mode (`live=True`) they follow the server's revocation stream and cache valid
answers for long. Web integrations live in
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
    Unauthorized,
)
from keyvend_client.live import LiveState
from keyvend_client.models import KeyInfo, Quota, Verification, VerifyCode
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
    "LiveState",
    "Quota",
    "RateLimited",
    "ServeStale",
    "ServerUnavailable",
    "Unauthorized",
    "Verification",
    "VerifiedKey",
    "VerifyCode",
]
__version__ = "0.1.0"
