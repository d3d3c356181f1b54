"""serviceapikey: check and read keys (guest), update and reset them (admin, client)."""

from __future__ import annotations

from typing import Any

from keyvend.api.endpoints.fields import Config, Id, Key
from keyvend.api.registry import Call, Params, endpoint
from keyvend.services import serviceapikey


class KeyParams(Params):
    key: Key | None = None


class UpdateParams(Params):
    order_id: Id
    config: Config | None = None
    valid: bool | None = None
    api_key: Key | None = None


class ResetParams(Params):
    order_id: Id | None = None
    key: Key | None = None


# The hot path: a single indexed probe (tens of microseconds) runs on the event loop, which
# costs less than handing it to a worker thread.
@endpoint("guest", "serviceapikey", "check", KeyParams, inline=True, limits=("guest_miss",))
def check(call: Call, p: KeyParams) -> bool:
    """Whether an API key is valid (order active, not expired, key enabled)."""
    return serviceapikey.check(call.db, p.key or "")


@endpoint("guest", "serviceapikey", "get_info", KeyParams, inline=True, limits=("guest_miss",))
def get_info(call: Call, p: KeyParams) -> dict[str, Any]:
    """Validity of an API key plus its custom parameters: {valid, config}."""
    return serviceapikey.get_info(call.db, p.key or "")


@endpoint("admin", "serviceapikey", "update", UpdateParams)
def update(call: Call, p: UpdateParams) -> bool:
    """Replace a key's config wholesale and/or enable or disable it (valid)."""
    return serviceapikey.update(
        call.db, order_id=p.order_id, config=p.config, valid=p.valid, api_key=p.api_key
    )


@endpoint("admin", "serviceapikey", "reset", ResetParams)
def admin_reset(call: Call, p: ResetParams) -> bool:
    """Issue a new key for an order (by order_id or key); the old key dies at once."""
    return serviceapikey.reset(call.db, order_id=p.order_id, key=p.key)


@endpoint("client", "serviceapikey", "reset", ResetParams)
def client_reset(call: Call, p: ResetParams) -> bool:
    """Issue a new key for one of your own orders (by order_id or key)."""
    return serviceapikey.reset(call.db, order_id=p.order_id, key=p.key, client_id=call.actor_id)
