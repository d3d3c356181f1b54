"""Parameter types shared by the endpoint modules."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from keyvend.api.registry import Params
from keyvend.domain.keygen import MAX_CUSTOM_PARAMS
from keyvend.services.pagination import PageRequest

Id = Annotated[int, Field(ge=1, le=2**31 - 1, description="A record id.")]
Short = Annotated[str, Field(max_length=255)]
MAX_KEY_PARAM = 600
Key = Annotated[str, Field(max_length=MAX_KEY_PARAM, description="An API key, dashes included.")]
Password = Annotated[str, Field(max_length=256)]
Gateway = Annotated[str, Field(max_length=32, description="bank_transfer or stripe.")]
Note = Annotated[str, Field(max_length=500)]
# Room for every custom parameter with its label, and the format and limit keys.
MAX_CONFIG_KEYS = 2 * MAX_CUSTOM_PARAMS + 20
Config = Annotated[
    dict[str, Any],
    Field(
        max_length=MAX_CONFIG_KEYS,
        description="Config object, e.g. config[custom_monthlyLimit]=250.",
    ),
]


class IdParams(Params):
    id: Id


class ListParams(Params):
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=1000)] = 100

    def page_spec(self) -> PageRequest:
        return PageRequest(self.page, self.per_page)
