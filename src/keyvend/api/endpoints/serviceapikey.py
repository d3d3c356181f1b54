"""serviceapikey: check, read and verify keys (guest, or an application with its token),
update and reset them (admin, client)."""

from __future__ import annotations

from typing import Annotated, Any, cast

from pydantic import BeforeValidator, ConfigDict, Field

from keyvend.api.endpoints.fields import Config, Id, Key
from keyvend.api.registry import Call, Params, endpoint
from keyvend.domain.quota import MAX_COST
from keyvend.domain.verification import VerifyCode
from keyvend.schemas.keycheck import KeyInfo, KeyVerification
from keyvend.schemas.usage import UsagePublic
from keyvend.services import serviceapikey, usage, verification


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool):  # JSON true is not a cost of 1
        raise ValueError("must be a whole number")
    return value


# The bounds before the validator, so that the documents show them as minimum and maximum.
Cost = Annotated[
    int,
    Field(ge=0, le=MAX_COST, description="Quota to spend: 1 by default, 0 to only look."),
    BeforeValidator(_whole_number),
]
Overlap = Annotated[
    int,
    Field(
        ge=0,
        le=serviceapikey.MAX_OVERLAP,
        description="Seconds the old key keeps working beside the new one (at most 7 days).",
    ),
]


def _key_required(schema: dict[str, Any]) -> None:
    """`key` is required in the documents. The model still lets a missing one through, so
    that the service words the refusal, FOSSBilling's "You must provide an API key to check
    it's validity." (code 9999), for a missing, null, empty or blank key alike and on both
    lanes: the fast lane (`api/hot_path.py`) never runs this model."""
    text, _null = schema["properties"]["key"]["anyOf"]
    schema["properties"]["key"] = {**text, "minLength": 1}
    schema["required"] = ["key", *schema.get("required", [])]


class KeyParams(Params):
    model_config = ConfigDict(json_schema_extra=_key_required)

    key: Key | None = None


class VerifyParams(KeyParams):
    cost: Cost = 1


class UpdateParams(Params):
    order_id: Id
    config: Config | None = None
    valid: bool | None = None
    api_key: Key | None = None


class ResetParams(Params):
    order_id: Id | None = None
    key: Key | None = None
    overlap: Overlap = 0


def _missed(result: KeyVerification) -> bool:
    return bool(result["code"] == VerifyCode.NOT_FOUND)


# The hot path: a single indexed probe (tens of microseconds) runs on the event loop, which
# costs less than handing it to a worker thread.
@endpoint(
    "guest",
    "serviceapikey",
    "check",
    KeyParams,
    inline=True,
    limits=("guest_miss",),
    applications=True,
)
def check(call: Call, p: KeyParams) -> bool:
    """Whether an API key is valid (order active, not expired, key enabled)."""
    return serviceapikey.check(call.db, p.key or "")


@endpoint(
    "guest",
    "serviceapikey",
    "get_info",
    KeyParams,
    inline=True,
    limits=("guest_miss",),
    applications=True,
)
def get_info(call: Call, p: KeyParams) -> KeyInfo:
    """Validity of an API key plus its custom parameters: {valid, config}."""
    return cast(KeyInfo, serviceapikey.get_info(call.db, p.key or ""))


@endpoint(
    "guest",
    "serviceapikey",
    "verify",
    VerifyParams,
    inline=True,
    limits=("guest_miss",),
    applications=True,
    missed=_missed,
    metered=True,
)
def verify(call: Call, p: VerifyParams) -> KeyVerification:
    """Verify an API key and spend `cost` of its quota: always a result, {valid, code,
    config, expires_at, quota}, code one of VALID, NOT_FOUND, DISABLED, EXPIRED, SUSPENDED,
    CANCELED, PENDING, USAGE_EXCEEDED, RATE_LIMITED."""
    return cast(KeyVerification, verification.verify(call.db, p.key or "", cost=p.cost).to_api())


@endpoint("admin", "serviceapikey", "update", UpdateParams)
def update(call: Call, p: UpdateParams) -> bool:
    """Replace a key's config wholesale and/or enable or disable it (valid)."""
    return serviceapikey.update(
        call.db, order_id=p.order_id, config=p.config, valid=p.valid, api_key=p.api_key
    )


@endpoint("admin", "serviceapikey", "reset", ResetParams)
def admin_reset(call: Call, p: ResetParams) -> bool:
    """Issue a new key for an order (by order_id or key); the old key dies at once, or
    keeps working `overlap` seconds beside the new one."""
    return serviceapikey.reset(call.db, order_id=p.order_id, key=p.key, overlap=p.overlap)


@endpoint("client", "serviceapikey", "reset", ResetParams)
def client_reset(call: Call, p: ResetParams) -> bool:
    """Issue a new key for one of your own orders (by order_id or key), optionally keeping
    the old one working `overlap` seconds."""
    return serviceapikey.reset(
        call.db, order_id=p.order_id, key=p.key, client_id=call.actor_id, overlap=p.overlap
    )


class UsageParams(Params):
    order_id: Id
    days: Annotated[
        int, Field(ge=1, le=usage.MAX_DAYS, description="Days ending today (UTC): 1 to 366.")
    ] = 30


@endpoint("client", "serviceapikey", "usage", UsageParams)
def client_usage(call: Call, p: UsageParams) -> UsagePublic:
    """Checks of your key per day and outcome over the last `days` days, and last_used_at."""
    return usage.get_usage(call.db, order_id=p.order_id, days=p.days, client_id=call.actor_id)


@endpoint("admin", "serviceapikey", "usage", UsageParams)
def admin_usage(call: Call, p: UsageParams) -> UsagePublic:
    """Checks of an order's key per day and outcome over the last `days` days, and last_used_at."""
    return usage.get_usage(call.db, order_id=p.order_id, days=p.days)
