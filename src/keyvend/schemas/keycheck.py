"""What the key checks answer: `guest/serviceapikey/get_info` and `verify` results.

TypedDicts rather than models: both lanes (the dispatcher and `api/hot_path.py`) build these
answers as plain dicts and encode them straight to JSON, once per check of every customer
application. A TypedDict types the dict for mypy and the OpenAPI document at no cost per call.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import WithJsonSchema
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only on 3.12+

from keyvend.domain.verification import VerifyCode

# A moment the answer already carries as `datetime.isoformat` text.
IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class KeyInfo(TypedDict):
    """`get_info`: whether the key is valid now, and its custom parameters (`custom_` dropped,
    numeric strings as numbers)."""

    valid: bool
    config: dict[str, Any]


class KeyQuota(TypedDict):
    """The key's quota in the current window; `reset_at` is null for a `total` quota."""

    limit: int
    remaining: int
    reset_at: IsoTime | None


class KeyVerification(TypedDict):
    """`verify`: always a result, `code` saying why the key does or does not work."""

    valid: bool
    code: VerifyCode
    config: dict[str, Any]
    expires_at: IsoTime | None
    quota: KeyQuota | None
